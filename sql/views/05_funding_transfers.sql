-- og.funding_transfers: one row per OPG transfer that funded an x402 payer before its first
-- payment (hop 1), and per transfer that funded such a funder before it passed OPG on (hop 2).
-- Hop 1: every OPG Transfer to the payer strictly before its first x402 payment in chain order
-- (block, log index), from anyone but the payer itself. Hop 2: followed only for hop-1 funders
-- that carry no label: every Transfer to that funder before its last hop-1 transfer to the payer,
-- from anyone but the funder or the payer. Nothing beyond two hops is followed.
-- funder_class, from data and configuration only:
--   insider        og.address_labels 'insider': configured insiders and pay_to, and (source
--                  'payments') every payee of an x402 payment, every facilitator named in a settle
--                  (witness.facilitator) and every sender of a settle transaction;
--   bridge_or_mint the zero address (a mint) or a configured bridge;
--   market         a configured DEX pool or router;
--   contract / eoa the rest: code at the block eth_getCode was read (og.address_code);
--   unknown        code not read yet (`og-indexer funding` reads it, and writes the labels).
-- Label precedence: insider, then bridge_or_mint, then market.
-- Caveats: a class names the address the OPG came from, not who controls it: an insider can fund
-- through a fresh wallet (caught only within two hops), and an unlabelled pool is a `contract`.
create or replace view og.funding_transfers as
with first_time as (
    -- one grouped index-only pass over payments_payer_time (payer, block_time), as og.payer_stats
    select p.payer, min(p.block_time) as block_time
    from og.x402_payments p
    group by p.payer
),
first_payment as (
    select p.chain_id, f.payer, p.block_number, p.log_index
    from first_time f
    cross join lateral (
        select p.chain_id, p.block_number, p.log_index
        from og.x402_payments p
        where p.payer = f.payer and p.block_time = f.block_time
        order by p.block_number, p.log_index
        limit 1
    ) p
),
labels as (
    -- address_labels holds the configured labels and the insiders the payments name (written by
    -- `og-indexer funding`); the zero address is a mint
    select distinct on (x.chain_id, x.address) x.chain_id, x.address, x.class
    from (
        select l.chain_id, l.address,
               case l.label when 'insider' then 'insider' when 'bridge' then 'bridge_or_mint'
                            else 'market' end as class,
               case l.label when 'insider' then 1 when 'bridge' then 2 else 3 end as rank
        from og.address_labels l
        union all
        select c.chain_id, '0x0000000000000000000000000000000000000000', 'bridge_or_mint', 2
        from (select distinct t.chain_id from first_payment t) c
    ) x
    order by x.chain_id, x.address, x.rank
),
-- Lateral index probes (token_transfers_to) per payer and per followed funder: a payer has few
-- transfers before its first payment, and the plan never sorts the whole transfer table.
hop1 as (
    select fp.chain_id, fp.payer, t.from_address as funder, t.to_address as funded, t.block_number,
           t.log_index, t.block_time, t.tx_hash, t.amount_raw, t.amount_opg, l.class as label_class
    from first_payment fp
    cross join lateral (
        select t.*
        from og.token_transfers t
        where t.chain_id = fp.chain_id and t.to_address = fp.payer
          and (t.block_number, t.log_index) < (fp.block_number, fp.log_index)
          and t.from_address <> fp.payer
        offset 0  -- keeps the probe per payer (a flattened join sorts the whole table)
    ) t
    left join labels l on l.chain_id = t.chain_id and l.address = t.from_address
),
followed as (
    -- unlabelled hop-1 funders, up to their last transfer to the payer
    select distinct on (h.chain_id, h.payer, h.funder) h.chain_id, h.payer, h.funder, h.block_number,
           h.log_index
    from hop1 h
    where h.label_class is null
    order by h.chain_id, h.payer, h.funder, h.block_number desc, h.log_index desc
),
hop2 as (
    select f.chain_id, f.payer, t.from_address as funder, t.to_address as funded, t.block_number,
           t.log_index, t.block_time, t.tx_hash, t.amount_raw, t.amount_opg, l.class as label_class
    from followed f
    cross join lateral (
        select t.*
        from og.token_transfers t
        where t.chain_id = f.chain_id and t.to_address = f.funder
          and (t.block_number, t.log_index) < (f.block_number, f.log_index)
          and t.from_address not in (f.funder, f.payer)
        offset 0
    ) t
    left join labels l on l.chain_id = t.chain_id and l.address = t.from_address
),
traced as (
    select 1 as hop, h.* from hop1 h
    union all
    select 2 as hop, h.* from hop2 h
)
select
    t.chain_id,
    t.payer,
    t.hop,
    t.funder,
    t.funded,
    t.block_number,
    t.log_index,
    t.block_time,
    t.tx_hash,
    t.amount_raw,
    t.amount_opg,
    coalesce(t.label_class,
             case when c.code_size > 0 then 'contract' when c.code_size = 0 then 'eoa' end,
             'unknown') as funder_class,
    c.code_size,
    c.block_number as code_block
from traced t
left join og.address_code c
  on t.label_class is null and c.chain_id = t.chain_id and c.address = t.funder;

comment on view og.funding_transfers is
    'One row per OPG transfer that funded an x402 payer before its first payment (hop 1) or funded '
    'an unlabelled hop-1 funder before it paid the payer (hop 2), with the funder''s class: '
    'insider, bridge_or_mint, market (data and configuration), contract / eoa (eth_getCode), '
    'unknown (code not read yet). Not followed beyond two hops.';
