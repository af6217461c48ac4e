-- Live following never diverges silently: a chain stopped by a reorg deeper than its window stays
-- stopped across restarts until `og-indexer rollback` repairs it; answers from a node lagging
-- behind the stored tip are counted; an error the follower has since recovered from is marked
-- resolved (with the time) instead of lingering as if current.
alter table og.chain_state
    add column stopped_reason         text,
    add column stopped_at             timestamptz,
    add column lagging_answers        bigint not null default 0,
    add column last_error_resolved_at timestamptz;
