-- og.windows: one row per reporting window ('7d', '30d', 'all'), in that order (ord).
-- A row in a window has block_time > *_from (exclusive) and <= the chain's head:
-- payments_from is anchored at the payments chain's head (Base), inference_from at the inference
-- chain's head (OpenGradient); 'all' starts at -infinity. With no indexed blocks the heads are NULL
-- and the 7d/30d windows are empty.
create or replace view og.windows as
with heads as (
    select
        max(h.head_time) filter (where h.payments_chain) as payments_head_at,
        max(h.head_time) filter (where h.inference_chain) as inference_head_at
    from og.chain_heads h
)
select
    w.ord,
    w."window",
    w.span,
    h.payments_head_at,
    case when w.span is null then '-infinity'::timestamptz
         else h.payments_head_at - w.span end as payments_from,
    h.inference_head_at,
    case when w.span is null then '-infinity'::timestamptz
         else h.inference_head_at - w.span end as inference_from
from (values (1, '7d', interval '7 days'),
             (2, '30d', interval '30 days'),
             (3, 'all', null::interval)) as w (ord, "window", span)
cross join heads h;

comment on view og.windows is
    'Reporting windows 7d / 30d / all with their lower bounds (exclusive), anchored at the latest '
    'indexed block time of the payments chain and of the inference chain, not now().';
