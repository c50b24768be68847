// Figure 9: many listeners. Figure 1 with 2 driver processes while 100 idle connections LISTEN
// on Sluice's channels; baseline in the same repetitions: the same without them. The shared
// server allows 100 connections for everyone, so unless it has room for 100 more (plus a
// margin for other users), this figure runs on a private server with the same settings and
// max_connections 200 (lib/scratch-server.mjs); both variants run there.
import { CONNECTIONS_PER_DRIVER } from '../adapters/coordinator-adapter.mjs';
import { openIdleListeners } from '../adapters/listeners-adapter.mjs';
import { serverInfo } from '../lib/bench-environment.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { sluiceNoopRun, sluiceNoopTemplate } from './coordinator-throughput-figure.mjs';

const LISTENERS = 100;
const WORKERS = 2;
const LEAVE_FOR_OTHERS = 20;

async function chooseServer(ctx) {
  const info = await serverInfo(ctx.dbs.adminUrl);
  const s = info.settings;
  const room = Number(s.max_connections) - Number(s.superuser_reserved_connections ?? 3) - info.connectionsInUse;
  const need = LISTENERS + WORKERS * CONNECTIONS_PER_DRIVER + 10;
  if (room - need >= LEAVE_FOR_OTHERS) return { dbs: ctx.dbs, where: 'the shared server' };
  return {
    dbs: await ctx.scratchDatabases(200),
    where: `a private server (the shared one has room for ${room} connections)`,
  };
}

export const figure = {
  name: 'listeners',
  title: `9. many listeners: figure 1 (${WORKERS} workers) with ${LISTENERS} idle LISTEN connections`,
  entryNames: ['many_listeners'],
  async run(ctx) {
    const numJobs = ctx.quick ? 3_000 : 50_000;
    const { dbs, where } = await chooseServer(ctx);
    const template = await sluiceNoopTemplate(dbs, ctx.tmpDir, numJobs);
    let notifications = 0;
    const withListeners = async (url, run) => {
      const l = await openIdleListeners(url, LISTENERS);
      try {
        return await run();
      } finally {
        notifications += l.received();
        await l.close();
      }
    };
    const runs = await interleave(
      ctx.reps,
      ['listeners', 'plain'],
      (v) =>
        sluiceNoopRun(
          { dbs, pools: ctx.pools },
          {
            template,
            numJobs,
            workers: WORKERS,
            ...(v === 'listeners' ? { around: withListeners } : {}),
          },
        ),
      ctx.log,
    ).finally(() => template.drop());
    const rate = (v) => runs[v].map((r) => r.rate);
    return {
      entries: [
        entry({
          name: 'many_listeners',
          value: median(rate('listeners')),
          unit: 'jobs/s',
          baseline: `the same without the ${LISTENERS} listeners`,
          baselineValue: median(rate('plain')),
          ratio: pairedRatio(rate('listeners'), rate('plain')),
          target: { ratioAtLeast: 0.8 },
          note: `${numJobs} jobs, ${WORKERS} drivers, on ${where}; the listeners received ${notifications} notifications`,
        }),
      ],
      details: { numJobs, where, notifications, runs },
    };
  },
};
