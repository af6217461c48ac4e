-- Walrus payloads: the off-chain half of every BatchSettlement / IndividualSettlement
-- (reference doc section 7). `og-indexer enrich` (and `run` in the background) fills them.

-- One fetch outcome per blob id, with the raw bytes as the aggregator served them, so that
-- `enrich --reparse` rebuilds every derived row offline. Not rolled back with a reorg: a blob is
-- addressed by its id, not by a block. status: fetched | truncated (body over the size cap, cut and
-- kept) | missing (404 after the retries: never stored or expired; `enrich --retry-missing` asks
-- again) | too_large (403) | blocked (451) | rejected (another 4xx) | failed (5xx, timeouts, resets
-- after the retries; asked again by the next enrich).
create table og.walrus_blobs (
    blob_id      text        primary key,
    status       text        not null check (status in ('fetched', 'truncated', 'missing', 'too_large',
                                                        'blocked', 'rejected', 'failed')),
    http_status  integer,
    attempts     integer     not null,
    last_error   text,
    aggregator   text,
    fetched_at   timestamptz not null,
    size_bytes   bigint,
    sha256       text,
    body         bytea
);
do $$
begin
    alter table og.walrus_blobs alter column body set compression lz4;
exception when feature_not_supported then
    raise notice 'this server has no lz4: walrus_blobs.body stays compressed with pglz';
end
$$;

-- enrich looks settlements up by blob id.
create index settlements_walrus_blob on og.settlements (walrus_blob_id) where walrus_blob_id is not null;

-- Payload-derived rows carry their settlement's key and block: a reorg removes them with it
-- (indexer.store.ROLLBACK_TABLES); `enrich` derives them again from the stored blob when the
-- settlement comes back. No FK to og.settlements: it stays free to truncate and bulk-load.

-- One row per individual settlement whose payload is stored. status: parsed | invalid (a JSON
-- object with a field of the wrong type or size: error says which) | unparseable (not a JSON
-- object, or cut at the size cap). model_raw (views normalise it with
-- og.normalize_model) is input.model, else output.model, set only for parsed rows. *_matches: the payload field equals the event's
-- (NULL: the payload lacks it); consistent: teeId, timestamp and ethAddress match and no output tee
-- field contradicts the event.
create table og.walrus_individual (
    chain_id            integer     not null,
    block_number        bigint      not null,
    block_hash          text        not null,
    block_time          timestamptz not null,
    tx_hash             text        not null,
    log_index           integer     not null,
    blob_id             text        not null,
    status              text        not null check (status in ('parsed', 'invalid', 'unparseable')),
    error               text,
    model_raw           text,
    input_model_raw     text,
    output_model_raw    text,
    prompt_tokens       bigint,
    completion_tokens   bigint,
    total_tokens        bigint,
    streamed            boolean,
    tee_id_matches      boolean,
    timestamp_matches   boolean,
    eth_address_matches boolean,
    output_tee_matches  boolean,
    consistent          boolean     not null,
    primary key (chain_id, block_number, log_index)
);
create index walrus_individual_blob on og.walrus_individual (blob_id);

-- One row per batch settlement whose payload is stored. status: consistent (root recomputed from
-- the values equals merkleRoot and the leaf count equals batchSize) | root_mismatch |
-- count_mismatch | unknown_leaf_format | unparseable. leaf_format: tee_io_sig_ts | io_sig | io.
create table og.walrus_batches (
    chain_id       integer     not null,
    block_number   bigint      not null,
    block_hash     text        not null,
    block_time     timestamptz not null,
    tx_hash        text        not null,
    log_index      integer     not null,
    blob_id        text        not null,
    status         text        not null check (status in ('consistent', 'root_mismatch', 'count_mismatch',
                                                          'unknown_leaf_format', 'unparseable')),
    error          text,
    leaf_format    text,
    leaf_encoding  text,
    leaves         integer,
    computed_root  text,
    primary key (chain_id, block_number, log_index)
);
create index walrus_batches_blob on og.walrus_batches (blob_id);

-- One row per leaf of a parsed batch payload (leaf_index = position in `values`). tee_id and
-- leaf_timestamp exist in the current leaf format only; signature is the leaf's signature (current)
-- or signatureLeafValue (io_sig).
create table og.walrus_batch_leaves (
    chain_id        integer       not null,
    block_number    bigint        not null,
    block_hash      text          not null,
    log_index       integer       not null,
    leaf_index      integer       not null,
    tree_index      integer       not null,
    tee_id          text,
    leaf_timestamp  numeric(78,0),
    input_hash      text          not null,
    output_hash     text          not null,
    signature       text,
    primary key (chain_id, block_number, log_index, leaf_index)
);
create index walrus_batch_leaves_tee on og.walrus_batch_leaves (tee_id, chain_id) where tee_id is not null;
