-- og.model_usage: one row per (model, attribution) seen on-chain, plus one row (model NULL,
-- attribution 'unattributed') carrying all inference volume that names no model.
-- Only records that name the model on-chain are attributed (same rules as og.model_inferences):
-- 'legacy_inference' (og.inferences; payers = distinct tx.from) and 'settlement_metadata'
-- (trusted legacy SettlementWithMetadata; payers NULL because no payer is on-chain). model is the
-- normalised key (og.normalize_model). inferences_7d / _30d: rolling windows ending at the latest
-- indexed block time of the inference chain, not now(). listed: the key is in og.models (NULL for
-- the unattributed row). Caveats: current batch/individual/private inferences carry no model and
-- are never spread over models; payments name no model, so there is no per-model revenue.
create or replace view og.model_usage as
-- Volume is aggregated by raw name first (few groups, parallel scans), then the names are
-- normalised and merged; og.normalize_model never runs per row.
with by_name as (
    select
        i.model as model_raw,
        'inference' as record,
        count(*)::numeric as inferences,
        min(i.block_time) as first_seen_at,
        max(i.block_time) as last_seen_at,
        count(*) filter (where i.block_time > (select w.inference_from from og.windows w
                                                where w."window" = '7d'))::numeric
            as inferences_7d,
        count(*) filter (where i.block_time > (select w.inference_from from og.windows w
                                                where w."window" = '30d'))::numeric
            as inferences_30d
    from og.inferences i
    group by i.model
    union all
    select
        s.model,
        'settlement',
        sum(s.inferences),
        min(s.block_time),
        max(s.block_time),
        coalesce(sum(s.inferences) filter (where s.block_time > (select w.inference_from
                                           from og.windows w where w."window" = '7d')), 0),
        coalesce(sum(s.inferences) filter (where s.block_time > (select w.inference_from
                                           from og.windows w where w."window" = '30d')), 0)
    from og.settlements s
    where s.trusted
    group by s.model
),
volume as (
    select
        n.model,
        case when n.model is null then 'unattributed'
             when x.record = 'inference' then 'legacy_inference'
             else 'settlement_metadata' end as attribution,
        sum(x.inferences) as inferences,
        min(x.first_seen_at) as first_seen_at,
        max(x.last_seen_at) as last_seen_at,
        sum(x.inferences_7d) as inferences_7d,
        sum(x.inferences_30d) as inferences_30d
    from by_name x
    cross join lateral (select og.normalize_model(x.model_raw) as model) n
    group by 1, 2
),
legacy_names as materialized (
    select x.model_raw, og.normalize_model(x.model_raw) as model
    from by_name x
    where x.record = 'inference' and og.normalize_model(x.model_raw) is not null
),
payers as (
    select d.model, count(*) as payers
    from (
        select distinct n.model, i.payer
        from og.inferences i
        join legacy_names n on n.model_raw = i.model
    ) d
    group by d.model
)
select
    v.model,
    v.attribution,
    v.inferences,
    case when v.attribution = 'legacy_inference' then coalesce(p.payers, 0) end as payers,
    v.first_seen_at,
    v.last_seen_at,
    v.inferences_7d,
    v.inferences_30d,
    case when v.model is not null
         then exists (select 1 from og.models c where c.model_key = v.model) end as listed
from volume v
left join payers p on p.model = v.model and v.attribution = 'legacy_inference'
order by v.model nulls last, v.attribution;

comment on view og.model_usage is
    'One row per (model, attribution) with on-chain inferences (all time, 7d, 30d), payers where '
    'the chain names them, first/last seen and whether the model is listed. model NULL = '
    'unattributed volume.';
