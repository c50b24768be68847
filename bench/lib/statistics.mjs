// Medians, percentiles and the entries of bench/results/latest.json. A target is a rule on
// either the ratio to the baseline or the value itself; `met` follows from it.

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const rank = Math.ceil((p / 100) * v.length);
  return v[Math.min(v.length - 1, Math.max(0, rank - 1))];
}

/**
 * Runs `reps` repetitions of every variant, interleaved: repetition r runs each variant once,
 * in an order rotated by r, so that a slow spell on the machine hits every variant alike.
 * Returns { variant: [result of rep 0, rep 1, ...] }. A run that fails is run once more (the
 * machine is shared: a stray signal or a full server should not sink the whole suite); the
 * failures are listed in `out.retried`.
 */
export async function interleave(reps, variants, runOne, log = () => {}) {
  const out = Object.fromEntries(variants.map((v) => [v, []]));
  for (let r = 0; r < reps; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]);
    for (const v of order) {
      let res;
      const t0 = performance.now();
      try {
        res = await runOne(v, r);
      } catch (e) {
        const why = String(e?.message ?? e).slice(0, 500);
        log(`  rep ${r + 1}/${reps} ${v} failed, running it again: ${why}`);
        out.retried = [...(out.retried ?? []), { variant: v, rep: r, error: why }];
        res = await runOne(v, r);
      }
      out[v].push(res);
      log(`  rep ${r + 1}/${reps} ${v}: ${describe(res)} (run took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
  return out;
}

function describe(res) {
  if (typeof res === 'number') return res.toFixed(res < 10 ? 2 : 0);
  if (res && typeof res === 'object')
    return Object.entries(res)
      .filter(([, x]) => typeof x === 'number')
      .map(([k, x]) => `${k}=${x.toFixed(x < 10 ? 2 : 0)}`)
      .join(' ');
  return String(res);
}

/** Median of the paired per-repetition ratios a[i] / b[i]. */
export function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const rs = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) rs.push(a[i] / b[i]);
  return median(rs);
}

/**
 * Targets: { ratioAtLeast: x } | { ratioAtMost: x } | { valueAtLeast: x } | { valueAtMost: x }
 * | { ok: true } (the run must finish without error) | null (reported only).
 */
export function formatTarget(t, unit) {
  if (!t) return null;
  if ('ratioAtLeast' in t) return `>= ${t.ratioAtLeast.toFixed(1)}x`;
  if ('ratioAtMost' in t) return `<= ${t.ratioAtMost.toFixed(1)}x`;
  if ('valueAtLeast' in t) return `>= ${t.valueAtLeast} ${unit}`;
  if ('valueAtMost' in t) return `<= ${t.valueAtMost} ${unit}`;
  if ('ok' in t) return t.label ?? 'no error';
  return null;
}

function isMet(t, value, ratio, ok) {
  if (!t) return null;
  if ('ok' in t) return ok === true;
  if (ok === false) return false;
  if ('ratioAtLeast' in t) return ratio === null ? false : ratio >= t.ratioAtLeast;
  if ('ratioAtMost' in t) return ratio === null ? false : ratio <= t.ratioAtMost;
  if (value === null) return false;
  if ('valueAtLeast' in t) return value >= t.valueAtLeast;
  if ('valueAtMost' in t) return value <= t.valueAtMost;
  return null;
}

const round = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toPrecision(4)));

/**
 * One entry of latest.json. `ok: false` forces `met: false` (the measurement itself failed or
 * the feature it needs is missing); `skipped` leaves value and met null (not run in this mode);
 * `note` goes to the details file and the table only.
 */
export function entry({ name, value, unit, baseline = null, baselineValue = null, ratio, target, ok, note, skipped }) {
  if (skipped)
    return {
      name,
      value: null,
      unit,
      baseline,
      baseline_value: null,
      ratio: null,
      target: formatTarget(target, unit),
      met: null,
      note,
    };
  const r = ratio !== undefined ? ratio : value !== null && baselineValue ? value / baselineValue : null;
  return {
    name,
    value: round(value),
    unit,
    baseline,
    baseline_value: round(baselineValue),
    ratio: round(r),
    target: formatTarget(target, unit),
    met: isMet(target, value, r, ok),
    ...(note ? { note } : {}),
  };
}
