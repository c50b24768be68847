-- Up Migration

-- Every request stamped its token's last_used_at, so every request of one token took that
-- row's lock until its transaction ended: 150 `--wake sse` workers sharing a token queued their
-- heartbeats behind each other on it. The stamp is now renewed at most once a minute; between
-- renewals authenticating only reads. Said in docs/api.md.
CREATE OR REPLACE FUNCTION sluice.api_tokens_authenticate(p_token_hash bytea) RETURNS name
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  WITH valid AS (
    SELECT id, owner_role, last_used_at FROM sluice.api_tokens
     WHERE token_hash = p_token_hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  ), stamped AS (
    UPDATE sluice.api_tokens t SET last_used_at = now()
      FROM valid v
     WHERE t.id = v.id AND (v.last_used_at IS NULL OR v.last_used_at < now() - interval '1 minute')
  )
  SELECT owner_role FROM valid
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION sluice.api_tokens_authenticate(p_token_hash bytea) RETURNS name
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  UPDATE sluice.api_tokens SET last_used_at = now()
   WHERE token_hash = p_token_hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  RETURNING owner_role
$$;
