-- Indexes and planner statistics that keep the og views fast (measured with
-- scripts/bench_views.py on 1M payments and 1M settlements; timings in docs/views.md).
-- Day = (block_time at time zone 'UTC')::date, the expression every per-day view groups by.
-- Covering (INCLUDE) columns let the views run index-only scans that arrive already grouped:
-- no sort and no hash table keyed by 42-character addresses. Index-only scans need the
-- visibility map, which autovacuum keeps current on these insert-mostly tables.

-- og.chain_heads / og.windows: latest indexed block time per chain without scanning its blocks.
create index blocks_chain_time on og.blocks (chain_id, block_time);

-- og.payer_stats, og.demand_concentration, og.window_summary, og.daily_activity (first days):
-- each payer's payments in time order.
create index payments_payer_time on og.payments (payer, block_time)
    include (amount_opg) where is_x402;

-- og.daily_activity (payers per day), og.payer_retention (distinct payer-days).
create index payments_day_payer on og.payments (((block_time at time zone 'UTC')::date), payer)
    include (amount_opg, block_time) where is_x402;

-- og.daily_activity, og.verification_coverage (per day), og.model_usage, og.window_summary
-- (whole table): trusted settlements without reading their wide heap rows.
create index settlements_trusted_day on og.settlements (((block_time at time zone 'UTC')::date))
    include (block_time, kind, inferences, verified_on_chain, model) where trusted;

-- og.tee_fleet: trusted individual settlements per TEE.
create index settlements_individual_tee on og.settlements (chain_id, tee_id)
    where kind = 'individual' and trusted;

-- og.daily_activity: distinct heartbeating TEEs per day.
create index tee_events_heartbeat_day on og.tee_events
    (((block_time at time zone 'UTC')::date), tee_id) include (block_time)
    where event = 'HeartbeatReceived';

-- Group-count estimates for the day expression: without them the planner guesses 200 (or
-- hundreds of thousands of) days, mis-plans the joins of per-day aggregates and JIT-compiles them.
create statistics payments_day_stats on ((block_time at time zone 'UTC')::date) from og.payments;
create statistics settlements_day_stats on ((block_time at time zone 'UTC')::date)
    from og.settlements;
create statistics inferences_day_stats on ((block_time at time zone 'UTC')::date)
    from og.inferences;
create statistics tee_events_day_stats on ((block_time at time zone 'UTC')::date)
    from og.tee_events;
