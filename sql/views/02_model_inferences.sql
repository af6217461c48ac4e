-- og.model_inferences: one row per on-chain inference record, with the model it names if any.
-- Sources: every og.inferences row (legacy precompile/hub/workflow path; payer = tx.from) and every
-- trusted og.settlements row (a batch row stands for batch_size inferences: see `inferences`).
-- attribution: 'legacy_inference' (og.inferences naming a model), 'settlement_metadata' (legacy
-- SettlementWithMetadata.modelInfo; no payer on-chain), 'unattributed' (no model on-chain: current
-- batch/individual settlements, legacy Settlement/BatchSettlement, hub/workflow results).
-- model is og.normalize_model(raw name), NULL exactly when attribution = 'unattributed'.
-- Caveat: nothing on-chain names the model of a batch, individual or private inference; the
-- unattributed volume is never spread over models. Private-mode inferences leave no row at all.
create or replace view og.model_inferences as
select
    i.chain_id,
    i.block_number,
    i.log_index,
    i.tx_hash,
    i.block_time,
    'inference'::text as record,
    i.source,
    n.model,
    i.model as model_raw,
    case when n.model is null then 'unattributed' else 'legacy_inference' end as attribution,
    i.payer,
    1::numeric as inferences,
    i.mode_name
from og.inferences i
cross join lateral (select og.normalize_model(i.model) as model) n
union all
select
    s.chain_id,
    s.block_number,
    s.log_index,
    s.tx_hash,
    s.block_time,
    'settlement'::text as record,
    s.kind as source,
    n.model,
    s.model as model_raw,
    case when n.model is null then 'unattributed' else 'settlement_metadata' end as attribution,
    null::text as payer,
    s.inferences::numeric as inferences,
    null::text as mode_name
from og.settlements s
cross join lateral (select og.normalize_model(s.model) as model) n
where s.trusted;

comment on view og.model_inferences is
    'One row per on-chain inference record (legacy inference or trusted settlement) with the '
    'normalised model it names, its attribution source and, on the legacy path only, the payer.';
