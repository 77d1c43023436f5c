//! The settle phase: the request's charge and its one usage event, recorded with the books, and its
//! metrics.

use app::core::usage_log::UsageEvent;
use app::money::{cost_with, web_search_cost};

use super::context::{ms, Ctx, ErrorClass, Outcome};
use super::Relay;

impl Relay {
    /// The settle phase: charge what the upstream reported (or release the reservation when it
    /// reported nothing), then record the request's one usage event with its charge. An event with
    /// usage is made durable before this returns (journaled, or stored); the request counts
    /// against spend limits until its cost is stored.
    pub(super) async fn settle(&self, ctx: &mut Ctx, outcome: Outcome) {
        ctx.settled = true;
        self.count(ctx, &outcome);
        let t = outcome.tokens;
        let prices = ctx.managed.as_ref().and_then(|m| m.prices);
        let long = ctx.managed.as_ref().and_then(|m| m.long_context);
        let search_price = ctx.managed.as_ref().map_or(0, |m| m.web_search_price);
        let cost = match (ctx.who.protocol.billed(), prices) {
            (true, Some(p)) => cost_with(
                &p,
                long.as_ref(),
                [
                    t.input,
                    t.output,
                    t.cache_write_5m,
                    t.cache_write_1h,
                    t.cache_read,
                ],
            )
            .saturating_add(web_search_cost(t.web_searches, search_price)),
            _ => 0,
        };
        let charge = if ctx.money.charged {
            self.charge(ctx, &t, cost).await
        } else {
            None
        };
        let tried = ctx.tried.as_ref();
        let event = UsageEvent {
            request_id: ctx.who.request_id.clone(),
            created_at: ctx.who.created_at,
            user_id: ctx.who.owner.user_id,
            token_id: Some(ctx.who.owner.token_id),
            api: ctx.who.protocol.as_str().to_string(),
            model: ctx.model().to_string(),
            resolved_model: ctx.managed.as_mut().and_then(|m| m.alias_of.take()),
            upstream_model: tried.map(|t| t.upstream_model.clone()),
            channel_id: tried.map(|t| t.channel_id),
            credential_id: tried.map(|t| t.credential_id),
            status: outcome.status.as_u16(),
            error_class: outcome.error_class.as_ref().map(ErrorClass::as_string),
            stream: ctx.stream(),
            client_disconnected: outcome.disconnected,
            attempts: tried.map_or(0, |t| t.attempts),
            tokens: t,
            estimated: outcome.estimated,
            cost,
            ttfb_ms: ctx.ttfb.map(ms),
            latency_ms: ms(ctx.who.started.elapsed()),
            thinking_stripped: ctx.thinking_stripped,
            probe: ctx.probe,
        };
        self.books
            .record_settled(event, charge, !t.is_zero(), ctx.money.open_spend.take())
            .await;
    }

    /// The request's metrics, once, when it settles.
    fn count(&self, ctx: &Ctx, outcome: &Outcome) {
        let m = &self.metrics;
        m.count_request(
            ctx.who.protocol.as_str(),
            ctx.managed.is_some().then(|| ctx.model()),
            ctx.tried.as_ref().map(|t| t.channel_id),
            outcome.status.as_u16(),
        );
        m.latency.observe(ctx.who.started.elapsed().as_secs_f64());
        if let Some(t) = ctx.ttfb {
            m.ttfb.observe(t.as_secs_f64());
        }
    }
}
