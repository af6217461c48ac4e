-- Recompute og.tees (each TEE's state) for the touched (registry, tee_id) pairs from og.tee_events.
-- $1 chain id; $2, $3 the touched registries and TEE ids (parallel arrays); $4, $5 the block range
-- just inserted (incremental: its heartbeats are added to the stored count), or NULL for a full
-- recount (rollback, redecode, ranges written over indexed blocks). Run by indexer.store.refresh_tees.
with touched as (
    select unnest($2::text[]) as registry, unnest($3::text[]) as tee_id
), ev as (
    -- registrations and toggles: few per TEE. Named, not "<> heartbeat": equality lets the
    -- (tee_id, event) index skip a TEE's heartbeats, which grow with history.
    select e.* from og.tee_events e join touched t using (registry, tee_id)
    where e.chain_id = $1 and e.event in ('TEERegistered', 'TEEEnabled', 'TEEDisabled',
                                          'TEEActivated', 'TEEDeactivated', 'TEERemoved')
), state as (
    select
        registry, tee_id,
        (array_agg(owner order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as owner,
        (array_agg(tee_type order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as tee_type,
        coalesce((array_agg(event in ('TEERegistered', 'TEEEnabled', 'TEEActivated')
            order by block_number desc, log_index desc)
            filter (where event in ('TEERegistered', 'TEEEnabled', 'TEEDisabled',
                                    'TEEActivated', 'TEEDeactivated', 'TEERemoved')))[1], false) as enabled,
        min(block_time) filter (where event = 'TEERegistered') as registered_at,
        min(block_number) filter (where event = 'TEERegistered') as registered_block,
        (array_agg(args->>'paymentAddress' order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as payment_address,
        (array_agg(args->>'endpoint' order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as endpoint
    from ev group by registry, tee_id
), fresh_hb as (
    -- incremental only: the heartbeats of the blocks just inserted, read by block range
    select h.registry, h.tee_id, count(*) as n, max(h.block_time) as last_at
    from og.tee_events h
    where $4::bigint is not null and h.chain_id = $1 and h.block_number between $4 and $5
      and h.event = 'HeartbeatReceived'
    group by h.registry, h.tee_id
), hb as (
    select t.registry, t.tee_id,
        case when $4::bigint is null then
            -- full recount: rollback, redecode, ranges written over indexed blocks
            (select max(h.block_time) from og.tee_events h
             where h.tee_id = t.tee_id and h.event = 'HeartbeatReceived'
               and h.chain_id = $1 and h.registry = t.registry)
        else
            -- incremental: every heartbeat of blocks $4..$5 was just inserted, none existed before,
            -- so the stored state plus these is the whole history (a recount grows with it)
            greatest(x.last_heartbeat_at, f.last_at)
        end as last_heartbeat_at,
        case when $4::bigint is null then
            (select count(*) from og.tee_events h
             where h.tee_id = t.tee_id and h.event = 'HeartbeatReceived'
               and h.chain_id = $1 and h.registry = t.registry)
        else
            coalesce(x.heartbeats, 0) + coalesce(f.n, 0)
        end as heartbeats
    from touched t
    left join og.tees x on x.chain_id = $1 and x.registry = t.registry and x.tee_id = t.tee_id
    left join fresh_hb f on f.registry = t.registry and f.tee_id = t.tee_id
), merged as (
    select t.registry, t.tee_id, s.owner, s.tee_type, coalesce(s.enabled, false) as enabled,
           s.registered_at, s.registered_block, hb.last_heartbeat_at, hb.heartbeats,
           s.payment_address, s.endpoint, (s.tee_id is not null or hb.heartbeats > 0) as exists_
    from touched t join hb using (registry, tee_id) left join state s using (registry, tee_id)
), gone as (
    delete from og.tees d using merged m
    where d.chain_id = $1 and d.registry = m.registry and d.tee_id = m.tee_id and not m.exists_
)
insert into og.tees as t (chain_id, registry, tee_id, owner, tee_type, enabled, registered_at,
                          registered_block, last_heartbeat_at, heartbeats, payment_address, endpoint)
select $1, registry, tee_id, owner, tee_type, enabled, registered_at, registered_block,
       last_heartbeat_at, heartbeats, payment_address, endpoint from merged where exists_
on conflict (chain_id, registry, tee_id) do update set
    owner = excluded.owner, tee_type = excluded.tee_type, enabled = excluded.enabled,
    registered_at = excluded.registered_at, registered_block = excluded.registered_block,
    last_heartbeat_at = excluded.last_heartbeat_at, heartbeats = excluded.heartbeats,
    payment_address = excluded.payment_address, endpoint = excluded.endpoint
