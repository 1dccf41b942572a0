-- Sessions from before tenants (issue 14) belong to the default tenant, the one the
-- environment-configured API key (API_KEY_SHA256) acts as, so today's setups keep working.
-- 'default' is DEFAULT_TENANT_ID of src/store/tenants.ts.
INSERT INTO session_tenants (session_id, tenant_id, owned_at_ms)
SELECT session_id, 'default', (extract(epoch from now()) * 1000)::bigint
FROM (
  SELECT session_id FROM queued_batches
  UNION SELECT session_id FROM source_keys
  UNION SELECT session_id FROM dead_letters
  UNION SELECT session_id FROM sessions
  UNION SELECT session_id FROM task_sessions
  UNION SELECT session_id FROM session_leases
  UNION SELECT session_id FROM session_meta
) known
ON CONFLICT (session_id) DO NOTHING;
