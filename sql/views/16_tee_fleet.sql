-- og.tee_fleet: one row per TEE per registry deployment (og.tees key: chain_id, registry, tee_id);
-- a TEE re-registered in a newer registry appears once per registry.
-- live = enabled AND last heartbeat within 1800 s (the registry's default heartbeatMaxAge) of the
-- latest indexed block time of the TEE's chain (not now()). Caveats: the on-chain "active" test
-- also requires the TEE's PCR to be still approved, which is not checked here; heartbeats arrive
-- every ~900 s, so a TEE one missed heartbeat behind is still live.
-- individual_settlements: trusted IndividualSettlement rows naming this tee_id on the same chain
-- (batch settlements name no TEE on-chain, so they are not counted per TEE).
-- batch_items: leaves naming this TEE in the Walrus payloads of trusted batch settlements on the
-- same chain whose proof is consistent (og.walrus_batches.status; current leaf format only: older
-- formats carry no TEE id). 0 also when no payload is stored yet: see og.proof_availability.
-- tee_type_name: 0 LLMProxy, 1 Validator (registry defaults; NULL for other types).
create or replace view og.tee_fleet as
select
    t.tee_id,
    t.owner,
    t.tee_type,
    t.registered_at,
    t.enabled,
    t.last_heartbeat_at,
    t.heartbeats,
    coalesce(t.enabled and t.last_heartbeat_at >= h.head_time - interval '1800 seconds', false)
        as live,
    p.individual_settlements,
    t.chain_id,
    t.registry,
    case t.tee_type when 0 then 'LLMProxy' when 1 then 'Validator' end as tee_type_name,
    extract(epoch from h.head_time - t.last_heartbeat_at)::bigint as heartbeat_age_s,
    t.payment_address,
    t.endpoint,
    b.batch_items
from og.tees t
left join og.chain_heads h on h.chain_id = t.chain_id
-- Counted per TEE off index settlements_individual_tee (index-only).
cross join lateral (
    select count(*) as individual_settlements
    from og.trusted_settlements s
    where s.chain_id = t.chain_id and s.tee_id = t.tee_id and s.kind = 'individual'
) p
cross join lateral (
    select count(*) as batch_items
    from og.walrus_batch_leaves l
    join og.walrus_batches b
      on b.chain_id = l.chain_id and b.block_number = l.block_number and b.log_index = l.log_index
    join og.trusted_settlements s
      on s.chain_id = l.chain_id and s.block_number = l.block_number and s.log_index = l.log_index
    where l.tee_id = t.tee_id and l.chain_id = t.chain_id and b.status = 'consistent'
) b
order by t.chain_id, t.registry, t.tee_id;

comment on view og.tee_fleet is
    'One row per TEE per registry: owner, type, registration, enabled, last heartbeat, heartbeats, '
    'live (enabled and heartbeat within 1800 s of the chain head), trusted individual '
    'settlements and batch items (leaves of consistent Walrus batch payloads naming the TEE).';
