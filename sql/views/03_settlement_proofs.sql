-- og.settlement_proofs: one row per trusted current-relay settlement (og.trusted_settlements, kind
-- batch | individual)
-- with what became of its Walrus payload (internal: og.proof_availability reads it).
-- blob_status: og.walrus_blobs.status (NULL: not asked yet, or no blob id on-chain).
-- proof_status: no_blob_id | not_fetched (not asked yet, or failed and to be asked again) |
-- missing (404 after the retries: expired or never stored) | unavailable (403 too large, 451
-- blocked, another 4xx) | not_parsed (stored, not parsed yet: run `og-indexer enrich`) |
-- unparseable (not JSON, cut at the size cap, wrong shape, unknown leaf format, or an individual
-- payload with a field of the wrong type) | mismatched (batch: root or leaf count differs from the
-- event; individual: teeId, timestamp, ethAddress or an output tee field differs) | consistent.
create or replace view og.settlement_proofs as
select
    s.chain_id,
    s.block_number,
    s.log_index,
    s.block_time,
    (s.block_time at time zone 'UTC')::date as day,
    s.kind,
    s.walrus_blob_id as blob_id,
    b.status as blob_status,
    case
        when s.walrus_blob_id is null then 'no_blob_id'
        when b.status is null or b.status = 'failed' then 'not_fetched'
        when b.status = 'missing' then 'missing'
        when b.status not in ('fetched', 'truncated') then 'unavailable'
        when s.kind = 'batch' then case
            when wb.status is null then 'not_parsed'
            when wb.status = 'consistent' then 'consistent'
            when wb.status in ('root_mismatch', 'count_mismatch') then 'mismatched'
            else 'unparseable' end
        else case
            when wi.status is null then 'not_parsed'
            when wi.status <> 'parsed' then 'unparseable'
            when wi.consistent then 'consistent'
            else 'mismatched' end
    end as proof_status
from og.trusted_settlements s
left join og.walrus_blobs b on b.blob_id = s.walrus_blob_id
left join og.walrus_batches wb
  on wb.chain_id = s.chain_id and wb.block_number = s.block_number and wb.log_index = s.log_index
left join og.walrus_individual wi
  on wi.chain_id = s.chain_id and wi.block_number = s.block_number and wi.log_index = s.log_index
where s.kind in ('batch', 'individual');

comment on view og.settlement_proofs is
    'One row per trusted batch or individual settlement: its Walrus blob status and proof status '
    '(consistent, mismatched, unparseable, missing, unavailable, not_fetched, not_parsed, no_blob_id).';
