-- og.verification_coverage: one row per UTC day with a trusted settlement or a legacy-path
-- inference.
-- settled_inferences = batch_inferences + individual_inferences + legacy_inferences (trusted only).
-- verified_inferences: trusted individual settlements whose TEE signature the relay verified
-- on-chain (og.trusted_settlements.verified); verified_share = verified / settled (NULL when nothing settled that day).
-- batch_inferences: batch_size of current-pipeline batches (Merkle roots; items are not
-- signature-checked on-chain). legacy_inferences: inferences in legacy relay settlements
-- (Settlement, BatchSettlement, SettlementWithMetadata; not signature-checked).
-- legacy_path_inferences / legacy_path_verified_inferences: og.legacy_path_inferences rows (the alpha
-- precompile/hub/workflow path, not settlements) and those run in TEE or ZKML mode, kept in their
-- own columns and not part of settled/verified.
-- batch_settlements: trusted current-relay batch settlements that day; batch_proofs_consistent:
-- those whose Walrus payload is stored and consistent (root recomputed from the leaves equals the
-- merkleRoot, leaf count equals batchSize); batch_proofs_consistent_share = consistent / batch
-- settlements (NULL when none): "batch proofs retrievable and consistent" (og.proof_availability
-- has the other outcomes). Caveat: private-mode inferences leave nothing on-chain.
create or replace view og.verification_coverage as
with settled as (
    select
        (s.block_time at time zone 'UTC')::date as day,
        sum(s.inferences) as settled_inferences,
        count(*) filter (where s.verified) as verified_inferences,
        coalesce(sum(s.inferences) filter (where s.kind = 'batch'), 0) as batch_inferences,
        coalesce(sum(s.inferences) filter (where s.kind = 'individual'), 0)
            as individual_inferences,
        coalesce(sum(s.inferences) filter (where s.kind like 'legacy%'), 0) as legacy_inferences,
        count(*) filter (where s.kind = 'batch') as batch_settlements,
        count(*) filter (where s.kind = 'batch' and b.status = 'consistent') as batch_proofs_consistent
    from og.trusted_settlements s
    left join og.walrus_batches b
      on b.chain_id = s.chain_id and b.block_number = s.block_number and b.log_index = s.log_index
    group by 1
),
legacy_path as (
    select
        (i.block_time at time zone 'UTC')::date as day,
        count(*) as legacy_path_inferences,
        count(*) filter (where i.verified) as legacy_path_verified_inferences
    from og.legacy_path_inferences i
    group by 1
)
select
    coalesce(s.day, l.day) as day,
    coalesce(s.settled_inferences, 0) as settled_inferences,
    coalesce(s.verified_inferences, 0) as verified_inferences,
    s.verified_inferences / nullif(s.settled_inferences, 0) as verified_share,
    coalesce(s.batch_inferences, 0) as batch_inferences,
    coalesce(s.legacy_inferences, 0) as legacy_inferences,
    coalesce(s.individual_inferences, 0) as individual_inferences,
    coalesce(l.legacy_path_inferences, 0) as legacy_path_inferences,
    coalesce(l.legacy_path_verified_inferences, 0) as legacy_path_verified_inferences,
    coalesce(s.batch_settlements, 0) as batch_settlements,
    coalesce(s.batch_proofs_consistent, 0) as batch_proofs_consistent,
    s.batch_proofs_consistent::numeric / nullif(s.batch_settlements, 0) as batch_proofs_consistent_share
from settled s
full join legacy_path l on l.day = s.day
order by 1;

comment on view og.verification_coverage is
    'One row per UTC day: trusted settled inferences, on-chain verified ones (individual '
    'settlements) and their share, split into batch / individual / legacy; legacy-path TEE/ZKML '
    'inferences apart; batch settlements whose Walrus proof is retrievable and consistent.';
