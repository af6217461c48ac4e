-- og-indexer base schema. Append-only: later changes go in new numbered files.
-- Conventions: addresses and hashes are lowercase 0x-hex text; uint256 is numeric(78,0);
-- token amounts also as a decimal-adjusted numeric; times are timestamptz (UTC).
-- Every event table carries provenance (chain_id, block_number, block_hash, block_time, tx_hash,
-- log_index) and is unique on (chain_id, block_number, log_index), which makes replays idempotent.

create schema if not exists og;

-- One row per block the indexer has seen: every block holding a matched log and every checkpoint.
create table og.blocks (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    parent_hash   text        not null,
    block_time    timestamptz not null,
    primary key (chain_id, block_number)
);

-- Block ranges fully indexed (rows committed with the range, in one transaction).
-- Overlapping and adjacent ranges are merged on write, so a chain has few rows here.
create table og.indexed_ranges (
    chain_id    integer     not null,
    from_block  bigint      not null,
    to_block    bigint      not null,
    to_hash     text        not null,
    indexed_at  timestamptz not null default now(),
    primary key (chain_id, from_block),
    check (from_block <= to_block)
);

-- Every log fetched from a watched address, exactly as the RPC returned it.
-- status: decoded | unknown_topic | decode_error. redecode rebuilds typed tables from here.
create table og.raw_logs (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    tx_index      integer     not null,
    log_index     integer     not null,
    address       text        not null,
    topic0        text,
    topic1        text,
    topic2        text,
    topic3        text,
    data          bytea       not null,
    status        text        not null,
    event         text,
    error         text,
    primary key (chain_id, block_number, log_index)
);
create index raw_logs_status on og.raw_logs (chain_id, status) where status <> 'decoded';

-- Transaction context, only for transactions carrying a matched log.
-- input is kept for Base x402 settle calls and TEE registrations (the calldata is decoded).
create table og.transactions (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    tx_index      integer     not null,
    tx_from       text        not null,
    tx_to         text,
    input         bytea,
    primary key (chain_id, block_number, tx_index),
    unique (chain_id, tx_hash)
);

-- Proof settlements on the OpenGradient chain, current (v3/v4) and legacy relays.
-- kind: batch | individual | legacy_single | legacy_batch | legacy_metadata.
-- inferences = batch_size for batches, 1 otherwise. trusted: tx_from is a configured relayer
-- (or no relayers are configured).
create table og.settlements (
    chain_id          integer     not null,
    block_number      bigint      not null,
    block_hash        text        not null,
    block_time        timestamptz not null,
    tx_hash           text        not null,
    log_index         integer     not null,
    relay             text        not null,
    kind              text        not null,
    inferences        numeric(78,0) not null,
    batch_size        numeric(78,0),
    merkle_root       text,
    tee_id            text,
    eth_address       text,
    input_hash        text,
    output_hash       text,
    tee_timestamp     numeric(78,0),
    walrus_blob_id    text,
    signature         text,
    verified_on_chain boolean     not null,
    model             text,
    input_data        bytea,
    output_data       bytea,
    tx_from           text        not null,
    trusted           boolean     not null,
    primary key (chain_id, block_number, log_index)
);
create index settlements_time on og.settlements (block_time);
create index settlements_tee on og.settlements (tee_id) where tee_id is not null;

-- Legacy-path inferences (precompile 0xF4, InferenceHub, workflow contracts): model and payer
-- (tx.from) on-chain. mode: ONNX 0 VANILLA 1 ZKML 2 TEE; LLM 0 VANILLA 1 TEE (mode_name says which).
create table og.inferences (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    log_index     integer     not null,
    contract      text        not null,
    source        text        not null,
    event         text        not null,
    inference_id  text,
    model         text,
    mode          smallint,
    mode_name     text,
    payer         text        not null,
    caller        text,
    request       jsonb,
    response      jsonb,
    primary key (chain_id, block_number, log_index)
);
create index inferences_model on og.inferences (model, block_time);
create index inferences_time on og.inferences (block_time);

-- Every TEE registry event. event: TEERegistered | TEEEnabled | TEEDisabled | HeartbeatReceived |
-- PCRApproved | PCRRevoked | TEETypeAdded | AWSCertificateUpdated | (historical variants).
create table og.tee_events (
    chain_id            integer     not null,
    block_number        bigint      not null,
    block_hash          text        not null,
    block_time          timestamptz not null,
    tx_hash             text        not null,
    log_index           integer     not null,
    registry            text        not null,
    event               text        not null,
    tee_id              text,
    owner               text,
    tee_type            smallint,
    heartbeat_timestamp numeric(78,0),
    pcr_hash            text,
    args                jsonb       not null,
    primary key (chain_id, block_number, log_index)
);
create index tee_events_tee on og.tee_events (tee_id, event, block_time);
create index tee_events_hb_time on og.tee_events (block_time) where event = 'HeartbeatReceived';

-- Derived state of each TEE, recomputed from og.tee_events (and registration calldata) on write.
create table og.tees (
    chain_id          integer     not null,
    registry          text        not null,
    tee_id            text        not null,
    owner             text,
    tee_type          smallint,
    enabled           boolean     not null,
    registered_at     timestamptz,
    registered_block  bigint,
    last_heartbeat_at timestamptz,
    heartbeats        bigint      not null,
    payment_address   text,
    endpoint          text,
    primary key (chain_id, registry, tee_id)
);

-- OPG transfers to an OpenGradient payTo address on Base. is_x402: the transaction also carries a
-- Settled* log of an x402 proxy (only those are payments); the rest are kept, flagged.
create table og.payments (
    chain_id          integer     not null,
    block_number      bigint      not null,
    block_hash        text        not null,
    block_time        timestamptz not null,
    tx_hash           text        not null,
    log_index         integer     not null,
    token             text        not null,
    payer             text        not null,
    payee             text        not null,
    amount_raw        numeric(78,0) not null,
    amount_opg        numeric     not null,
    is_x402           boolean     not null,
    scheme            text,
    proxy             text,
    facilitator       text,
    tx_from           text,
    settle_owner      text,
    settle_amount_raw numeric(78,0),
    session_cap_raw   numeric(78,0),
    primary key (chain_id, block_number, log_index)
);
create index payments_payer on og.payments (payer, block_time) where is_x402;
create index payments_time on og.payments (block_time) where is_x402;

-- OPG approvals. to_permit2 marks onboarding (a payer allowing Permit2 to move OPG).
create table og.approvals (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    log_index     integer     not null,
    token         text        not null,
    owner         text        not null,
    spender       text        not null,
    value_raw     numeric(78,0) not null,
    value_opg     numeric     not null,
    to_permit2    boolean     not null,
    primary key (chain_id, block_number, log_index)
);

-- Logs of the x402 proxies: Settled, SettledWithPermit, SettledWith2612, EIP2612PermitFailed*.
create table og.x402_events (
    chain_id      integer     not null,
    block_number  bigint      not null,
    block_hash    text        not null,
    block_time    timestamptz not null,
    tx_hash       text        not null,
    log_index     integer     not null,
    proxy         text        not null,
    scheme        text        not null,
    event         text        not null,
    token         text,
    owner         text,
    reason        text,
    primary key (chain_id, block_number, log_index)
);
