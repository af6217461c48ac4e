-- What the live follower last saw per chain, for `og-indexer status` and alerting:
-- head, indexed tip, last progress and last error. One row per chain, updated by `og-indexer run`.
create table og.chain_state (
    chain_id          integer     primary key,
    head              bigint,
    head_time         timestamptz,
    tip               bigint,
    last_progress_at  timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    stalled_since     timestamptz,
    reorgs            bigint      not null default 0,
    updated_at        timestamptz not null default now()
);
