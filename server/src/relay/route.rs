//! Planning a request's route: the ordered attempts (channel, endpoint, key) for a model. Channels
//! of the wanted type that are bound to the model and healthy, by priority (highest first), weighted
//! random within one priority; one attempt per channel before a channel's second key; a session's
//! sticky channel and key first while they are healthy.

use std::sync::Arc;

use rand::Rng;

use app::core::catalog::{CatalogChannel, CatalogCredential, CatalogModel, Snapshot};
use app::types::ChannelKind;

use super::health::{HealthKey, StickyTarget};

/// One way to send the request.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub channel: Arc<CatalogChannel>,
    pub endpoint: Arc<str>,
    pub credential: CatalogCredential,
    pub upstream_model: Arc<str>,
}

impl Attempt {
    pub fn sticky_target(&self) -> StickyTarget {
        StickyTarget {
            channel_id: self.channel.id,
            credential_id: self.credential.id,
        }
    }
}

/// A usable channel with the model name it is sent.
type Candidate = (Arc<CatalogChannel>, Arc<str>);

/// A channel ready for attempts: its upstream model name, endpoint and healthy keys in order.
struct Ready {
    channel: Arc<CatalogChannel>,
    upstream_model: Arc<str>,
    endpoint: Arc<str>,
    keys: Vec<CatalogCredential>,
}

/// Orders `items` by weighted random choice without replacement.
fn weighted_shuffle<T, R: Rng>(mut items: Vec<(T, u64)>, rng: &mut R) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    while !items.is_empty() {
        let total: u64 = items.iter().map(|(_, w)| (*w).max(1)).sum();
        let mut pick = rng.gen_range(0..total);
        let mut index = items.len() - 1;
        for (i, (_, w)) in items.iter().enumerate() {
            let w = (*w).max(1);
            if pick < w {
                index = i;
                break;
            }
            pick -= w;
        }
        out.push(items.swap_remove(index).0);
    }
    out
}

/// The attempts for `model`, at most `max`. `cooling` says whether a credential or endpoint is
/// cooling down.
pub fn plan<R: Rng>(
    snapshot: &Snapshot,
    model: &CatalogModel,
    kind: ChannelKind,
    cooling: &dyn Fn(&HealthKey) -> bool,
    sticky: Option<StickyTarget>,
    max: usize,
    rng: &mut R,
) -> Vec<Attempt> {
    // Usable channels with their route, grouped by priority (routes come sorted by priority).
    let mut groups: Vec<(i64, Vec<(Candidate, u64)>)> = Vec::with_capacity(model.routes.len());
    for route in &model.routes {
        let Some(channel) = snapshot.channel(route.channel_id) else {
            continue;
        };
        if channel.kind != kind {
            continue;
        }
        let weight = u64::try_from(channel.weight).unwrap_or(1);
        let entry = ((channel.clone(), route.upstream_model.clone()), weight);
        match groups.last_mut() {
            Some((p, list)) if *p == channel.priority => list.push(entry),
            _ => groups.push((channel.priority, vec![entry])),
        }
    }
    let ordered: Vec<Candidate> = groups
        .into_iter()
        .flat_map(|(_, list)| weighted_shuffle(list, rng))
        .collect();

    // For each channel: its healthy keys (random start, so keys share the load) and first healthy
    // endpoint (endpoints are primary, then backups).
    let mut per_channel: Vec<Ready> = Vec::with_capacity(ordered.len());
    for (channel, upstream_model) in ordered {
        let Some(endpoint) = channel
            .endpoints
            .iter()
            .find(|e| !cooling(&HealthKey::Endpoint(channel.id, (*e).clone())))
            .cloned()
        else {
            continue;
        };
        let healthy: Vec<CatalogCredential> = channel
            .credentials
            .iter()
            .filter(|c| !cooling(&HealthKey::Credential(c.id)))
            .cloned()
            .collect();
        if healthy.is_empty() {
            continue;
        }
        let start = rng.gen_range(0..healthy.len());
        let mut keys = healthy;
        keys.rotate_left(start);
        if let Some(target) = sticky.filter(|t| t.channel_id == channel.id) {
            if let Some(pos) = keys.iter().position(|k| k.id == target.credential_id) {
                keys.swap(0, pos);
            }
        }
        per_channel.push(Ready {
            channel,
            upstream_model,
            endpoint,
            keys,
        });
    }
    if let Some(target) = sticky {
        if let Some(pos) = per_channel.iter().position(|r| {
            r.channel.id == target.channel_id
                && r.keys.first().is_some_and(|k| k.id == target.credential_id)
        }) {
            let entry = per_channel.remove(pos);
            per_channel.insert(0, entry);
        }
    }

    let deepest = per_channel.iter().map(|r| r.keys.len()).max().unwrap_or(0);
    let keys: usize = per_channel.iter().map(|r| r.keys.len()).sum();
    let mut attempts = Vec::with_capacity(keys.min(max));
    'rounds: for round in 0..deepest {
        for r in &per_channel {
            if attempts.len() >= max {
                break 'rounds;
            }
            if let Some(key) = r.keys.get(round) {
                attempts.push(Attempt {
                    channel: r.channel.clone(),
                    endpoint: r.endpoint.clone(),
                    credential: key.clone(),
                    upstream_model: r.upstream_model.clone(),
                });
            }
        }
    }
    attempts
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::core::catalog::Route;
    use rand::SeedableRng;

    fn channel(
        id: i64,
        kind: ChannelKind,
        priority: i64,
        weight: i64,
        keys: &[i64],
    ) -> CatalogChannel {
        CatalogChannel {
            id,
            name: format!("c{id}"),
            kind,
            priority,
            weight,
            filter: Default::default(),
            endpoints: vec![
                Arc::from(format!("http://c{id}-a").as_str()),
                Arc::from(format!("http://c{id}-b").as_str()),
            ],
            credentials: keys
                .iter()
                .map(|k| CatalogCredential::new(*k, &format!("key{k}")))
                .collect(),
        }
    }

    fn snapshot(channels: Vec<CatalogChannel>) -> (Snapshot, CatalogModel) {
        let mut sorted: Vec<&CatalogChannel> = channels.iter().collect();
        sorted.sort_by_key(|c| (std::cmp::Reverse(c.priority), c.id));
        let model = CatalogModel {
            id: 1,
            public_id: "m".into(),
            display_name: "m".into(),
            prices: None,
            long_context: None,
            web_search_price: None,
            aliases: Vec::new(),
            routes: sorted
                .iter()
                .map(|c| Route {
                    channel_id: c.id,
                    upstream_model: Arc::from(format!("up{}", c.id).as_str()),
                })
                .collect(),
            created_at: 0,
        };
        let snap = Snapshot {
            channels: channels.into_iter().map(|c| (c.id, Arc::new(c))).collect(),
            ..Snapshot::default()
        };
        (snap, model)
    }

    fn ids(attempts: &[Attempt]) -> Vec<(i64, i64)> {
        attempts
            .iter()
            .map(|a| (a.channel.id, a.credential.id))
            .collect()
    }

    #[test]
    fn priority_first_then_one_key_per_channel_per_round() {
        let (snap, model) = snapshot(vec![
            channel(1, ChannelKind::Anthropic, 0, 1, &[11, 12]),
            channel(2, ChannelKind::Anthropic, 10, 1, &[21]),
            channel(3, ChannelKind::Openai, 20, 1, &[31]),
        ]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = plan(
            &snap,
            &model,
            ChannelKind::Anthropic,
            &|_| false,
            None,
            3,
            &mut rng,
        );
        assert_eq!(a.len(), 3);
        assert_eq!(
            a[0].channel.id, 2,
            "higher priority first; the openai channel is skipped"
        );
        assert_eq!(&*a[0].upstream_model, "up2");
        assert_eq!(a[1].channel.id, 1);
        assert_eq!(
            a[2].channel.id, 1,
            "a second key of a channel comes after every channel's first"
        );
        assert_ne!(a[1].credential.id, a[2].credential.id);
        assert_eq!(&*a[0].endpoint, "http://c2-a");
        let capped = plan(
            &snap,
            &model,
            ChannelKind::Anthropic,
            &|_| false,
            None,
            1,
            &mut rng,
        );
        assert_eq!(capped.len(), 1);
    }

    #[test]
    fn cooling_keys_and_endpoints_are_skipped() {
        let (snap, model) = snapshot(vec![
            channel(1, ChannelKind::Anthropic, 0, 1, &[11, 12]),
            channel(2, ChannelKind::Anthropic, 0, 1, &[21]),
        ]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let cooling = |k: &HealthKey| match k {
            HealthKey::Credential(id) => *id == 11 || *id == 21,
            HealthKey::Endpoint(1, url) => &**url == "http://c1-a",
            HealthKey::Endpoint(..) => false,
        };
        let a = plan(
            &snap,
            &model,
            ChannelKind::Anthropic,
            &cooling,
            None,
            3,
            &mut rng,
        );
        assert_eq!(ids(&a), vec![(1, 12)]);
        assert_eq!(&*a[0].endpoint, "http://c1-b", "the backup endpoint");
        let none = plan(
            &snap,
            &model,
            ChannelKind::Anthropic,
            &|_| true,
            None,
            3,
            &mut rng,
        );
        assert!(none.is_empty());
    }

    #[test]
    fn weights_share_traffic_within_a_priority() {
        let (snap, model) = snapshot(vec![
            channel(1, ChannelKind::Anthropic, 0, 3, &[11]),
            channel(2, ChannelKind::Anthropic, 0, 1, &[21]),
        ]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let firsts = (0..4000)
            .filter(|_| {
                plan(
                    &snap,
                    &model,
                    ChannelKind::Anthropic,
                    &|_| false,
                    None,
                    1,
                    &mut rng,
                )[0]
                .channel
                .id == 1
            })
            .count();
        assert!(
            (2700..3300).contains(&firsts),
            "about 3 in 4 go to the heavier channel: {firsts}"
        );
    }

    #[test]
    fn a_sticky_session_goes_back_to_its_channel_and_key() {
        let (snap, model) = snapshot(vec![
            channel(1, ChannelKind::Anthropic, 10, 1, &[11]),
            channel(2, ChannelKind::Anthropic, 0, 1, &[21, 22]),
        ]);
        let sticky = StickyTarget {
            channel_id: 2,
            credential_id: 22,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        for _ in 0..20 {
            let a = plan(
                &snap,
                &model,
                ChannelKind::Anthropic,
                &|_| false,
                Some(sticky),
                3,
                &mut rng,
            );
            assert_eq!(ids(&a)[0], (2, 22));
            assert_eq!(a[1].channel.id, 1, "then the usual order");
        }
        // While its key cools down, the session moves on.
        let a = plan(
            &snap,
            &model,
            ChannelKind::Anthropic,
            &|k| *k == HealthKey::Credential(22),
            Some(sticky),
            3,
            &mut rng,
        );
        assert_eq!(a[0].channel.id, 1);
    }
}
