//! The routing catalog: enabled models, the channels that carry them (with decrypted keys), and the
//! site settings, held in memory so the data plane never asks the database per request.
//!
//! Every administrative change bumps a revision number in the database (see [`super::audit`]). The
//! instance that made the change reloads at once ([`Catalog::refresh`]); every instance also polls the
//! revision (a one-row read) and reloads when it moved, which carries changes made by other
//! instances or the CLI within the poll interval.

use foldhash::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use tokio::sync::{watch, Mutex};

use super::bindings::{self, Binding};
use super::channels::{self, Channel, Credential, Endpoint};
use super::crypto::KeyCipher;
use super::db::Db;
use super::error::StoreError;
use super::models::{self, Model};
use super::{audit, settings};
use crate::money::{LongContext, Prices};
use crate::types::{ChannelKind, SiteSettings};

/// A channel that can carry a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub channel_id: i64,
    pub upstream_model: Arc<str>,
}

/// An enabled model and its enabled bindings to usable channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogModel {
    pub id: i64,
    pub public_id: String,
    pub display_name: String,
    pub prices: Option<Prices>,
    pub long_context: Option<LongContext>,
    /// Its own price of 1,000 web searches (micro-USD); none = the site's.
    pub web_search_price: Option<i64>,
    /// Other ids it answers to.
    pub aliases: Vec<String>,
    pub routes: Vec<Route>,
    /// When the model was created (Unix ms), as the models lists show it.
    pub created_at: i64,
}

/// A decrypted upstream key. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CatalogCredential {
    pub id: i64,
    pub key: Arc<str>,
    /// The key as a header value (`x-api-key`), made once per catalog load rather than per
    /// request; none when the key cannot be a header value.
    pub header: Option<HeaderValue>,
    /// `Bearer <key>` as a header value (`Authorization`), likewise.
    pub bearer: Option<HeaderValue>,
}

impl CatalogCredential {
    pub fn new(id: i64, key: &str) -> Self {
        let sensitive = |v: &str| {
            HeaderValue::from_str(v).ok().map(|mut v| {
                v.set_sensitive(true);
                v
            })
        };
        CatalogCredential {
            id,
            key: Arc::from(key),
            header: sensitive(key),
            bearer: sensitive(&format!("Bearer {key}")),
        }
    }
}

impl std::fmt::Debug for CatalogCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogCredential({})", self.id)
    }
}

/// An enabled channel with at least one endpoint and one enabled, decryptable key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogChannel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub priority: i64,
    pub weight: i64,
    pub endpoints: Vec<Arc<str>>,
    pub credentials: Vec<CatalogCredential>,
    /// What it drops from requests.
    pub filter: crate::types::RequestFilter,
}

/// One consistent view of the catalog.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The database revision this snapshot was read at (or after).
    pub revision: i64,
    /// The token revision seen with it: token caches are emptied when either moves.
    pub token_revision: i64,
    pub models: HashMap<String, Arc<CatalogModel>>,
    /// Each alias of an enabled model, with its model.
    pub aliases: HashMap<String, Arc<CatalogModel>>,
    pub channels: HashMap<i64, Arc<CatalogChannel>>,
    pub settings: SiteSettings,
}

impl Snapshot {
    /// The enabled model with this id, or with this alias.
    pub fn model(&self, id: &str) -> Option<&Arc<CatalogModel>> {
        self.models.get(id).or_else(|| self.aliases.get(id))
    }

    pub fn channel(&self, id: i64) -> Option<&Arc<CatalogChannel>> {
        self.channels.get(&id)
    }
}

/// The rows a snapshot is built from.
pub struct Rows {
    pub revision: i64,
    pub models: Vec<Model>,
    pub channels: Vec<Channel>,
    pub endpoints: Vec<Endpoint>,
    /// Credentials with their keys decrypted (those that failed are left out by the loader).
    pub credentials: Vec<(Credential, String)>,
    pub bindings: Vec<Binding>,
    pub settings: SiteSettings,
}

/// Builds a snapshot: only enabled models, only enabled channels that have an endpoint and an enabled
/// key, only enabled bindings between them. Routes are ordered by channel priority (highest first),
/// then channel id.
pub fn assemble(rows: Rows) -> Snapshot {
    let mut channels: HashMap<i64, CatalogChannel> = rows
        .channels
        .iter()
        .filter(|c| c.enabled())
        .map(|c| {
            (
                c.id,
                CatalogChannel {
                    id: c.id,
                    name: c.name.clone(),
                    kind: c.kind,
                    priority: c.priority,
                    weight: c.weight,
                    endpoints: Vec::new(),
                    credentials: Vec::new(),
                    filter: c.filter.clone(),
                },
            )
        })
        .collect();
    for e in &rows.endpoints {
        if let Some(c) = channels.get_mut(&e.channel_id) {
            c.endpoints.push(Arc::from(e.base_url.as_str()));
        }
    }
    for (cred, key) in &rows.credentials {
        if cred.disabled_at.is_some() {
            continue;
        }
        if let Some(c) = channels.get_mut(&cred.channel_id) {
            c.credentials.push(CatalogCredential::new(cred.id, key));
        }
    }
    channels.retain(|_, c| !c.endpoints.is_empty() && !c.credentials.is_empty());

    let mut models: HashMap<i64, CatalogModel> = rows
        .models
        .iter()
        .filter(|m| m.enabled())
        .map(|m| {
            (
                m.id,
                CatalogModel {
                    id: m.id,
                    public_id: m.public_id.clone(),
                    display_name: m.display_name.clone(),
                    prices: m.prices,
                    long_context: m.long_context,
                    web_search_price: m.web_search_price,
                    aliases: m.aliases.clone(),
                    routes: Vec::new(),
                    created_at: m.created_at,
                },
            )
        })
        .collect();
    for b in rows.bindings.iter().filter(|b| b.enabled()) {
        if let (Some(m), true) = (
            models.get_mut(&b.model_id),
            channels.contains_key(&b.channel_id),
        ) {
            m.routes.push(Route {
                channel_id: b.channel_id,
                upstream_model: Arc::from(b.upstream_model.as_str()),
            });
        }
    }
    for m in models.values_mut() {
        m.routes.sort_by_key(|r| {
            let priority = channels.get(&r.channel_id).map_or(0, |c| c.priority);
            (std::cmp::Reverse(priority), r.channel_id)
        });
    }
    let models: HashMap<String, Arc<CatalogModel>> = models
        .into_values()
        .map(|m| (m.public_id.clone(), Arc::new(m)))
        .collect();
    let aliases = models
        .values()
        .flat_map(|m| m.aliases.iter().map(|a| (a.clone(), m.clone())))
        .collect();
    Snapshot {
        revision: rows.revision,
        token_revision: 0,
        models,
        aliases,
        channels: channels
            .into_iter()
            .map(|(id, c)| (id, Arc::new(c)))
            .collect(),
        settings: rows.settings,
    }
}

/// The in-memory catalog of one instance.
pub struct Catalog {
    db: Db,
    cipher: KeyCipher,
    current: watch::Sender<Arc<Snapshot>>,
    reloading: Mutex<()>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Catalog(revision {})", self.snapshot().revision)
    }
}

impl Catalog {
    /// Loads the catalog from the database.
    pub async fn load(db: Db, cipher: KeyCipher) -> Result<Arc<Catalog>, StoreError> {
        let first = read(&db, &cipher).await?;
        let (current, _) = watch::channel(Arc::new(first));
        Ok(Arc::new(Catalog {
            db,
            cipher,
            current,
            reloading: Mutex::new(()),
        }))
    }

    /// The current snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.borrow().clone()
    }

    /// Notified with every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.current.subscribe()
    }

    /// Reloads now (after a change made by this instance).
    pub async fn refresh(&self) -> Result<Arc<Snapshot>, StoreError> {
        let _one_at_a_time = self.reloading.lock().await;
        let next = Arc::new(read(&self.db, &self.cipher).await?);
        self.current.send_replace(next.clone());
        Ok(next)
    }

    /// Reloads when the database revision differs from the snapshot's; takes a new token revision
    /// without reloading anything else. True when either moved.
    pub async fn refresh_if_changed(&self) -> Result<bool, StoreError> {
        let (revision, token_revision) = audit::revisions(&self.db).await?;
        let current = self.snapshot();
        if revision != current.revision {
            self.refresh().await?;
            return Ok(true);
        }
        if token_revision != current.token_revision {
            let _one_at_a_time = self.reloading.lock().await;
            let mut next = (*self.snapshot()).clone();
            next.token_revision = next.token_revision.max(token_revision);
            self.current.send_replace(Arc::new(next));
            return Ok(true);
        }
        Ok(false)
    }

    /// Polls the revision every `every` and reloads on change, until the task is aborted.
    pub fn spawn_watcher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let catalog = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match catalog.refresh_if_changed().await {
                    Ok(true) => tracing::debug!(
                        revision = catalog.snapshot().revision,
                        "routing catalog reloaded"
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not check the routing catalog"),
                }
            }
        })
    }
}

/// Reads every row the catalog needs. The revision is read first, so a change committed while
/// reading is picked up again by the next poll rather than missed.
async fn read(db: &Db, cipher: &KeyCipher) -> Result<Snapshot, StoreError> {
    let (revision, token_revision) = audit::revisions(db).await?;
    let credentials = channels::credentials(db, None)
        .await?
        .into_iter()
        .filter_map(|c| match cipher.decrypt(c.channel_id, &c.secret) {
            Ok(key) => Some((c, key)),
            Err(e) => {
                tracing::error!(channel_id = c.channel_id, credential_id = c.id, error = %e, "skipping an upstream key");
                None
            }
        })
        .collect();
    let mut snapshot = assemble(Rows {
        revision,
        models: models::list(db).await?,
        channels: channels::list(db).await?,
        endpoints: channels::endpoints(db, None).await?,
        credentials,
        bindings: bindings::all(db).await?,
        settings: settings::load(db).await?,
    });
    snapshot.token_revision = token_revision;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: i64, priority: i64, enabled: bool) -> Channel {
        Channel {
            id,
            name: format!("c{id}"),
            kind: ChannelKind::Anthropic,
            priority,
            weight: 1,
            disabled_at: (!enabled).then_some(1),
            filter: Default::default(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn model(id: i64, public_id: &str, enabled: bool) -> Model {
        Model {
            id,
            public_id: public_id.into(),
            display_name: public_id.into(),
            disabled_at: (!enabled).then_some(1),
            prices: None,
            long_context: None,
            aliases: Vec::new(),
            web_search_price: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn endpoint(channel_id: i64) -> Endpoint {
        Endpoint {
            id: channel_id * 10,
            channel_id,
            base_url: format!("http://up{channel_id}"),
        }
    }

    fn cred(id: i64, channel_id: i64, enabled: bool) -> (Credential, String) {
        (
            Credential {
                id,
                channel_id,
                secret: String::new(),
                hint: String::new(),
                disabled_at: (!enabled).then_some(1),
                created_at: 0,
            },
            format!("key-{id}"),
        )
    }

    fn binding(model_id: i64, channel_id: i64, upstream: &str, enabled: bool) -> Binding {
        Binding {
            id: model_id * 100 + channel_id,
            model_id,
            channel_id,
            upstream_model: upstream.into(),
            disabled_at: (!enabled).then_some(1),
        }
    }

    #[test]
    fn only_usable_routes_are_kept_in_priority_order() {
        let snap = assemble(Rows {
            revision: 4,
            models: vec![model(1, "m", true), model(2, "off", false)],
            channels: vec![
                channel(1, 0, true),
                channel(2, 10, true),
                channel(3, 5, false),
                channel(4, 20, true), // no endpoint
                channel(5, 30, true), // only a disabled key
            ],
            endpoints: vec![endpoint(1), endpoint(2), endpoint(3), endpoint(5)],
            credentials: vec![
                cred(1, 1, true),
                cred(2, 2, true),
                cred(3, 3, true),
                cred(4, 4, true),
                cred(5, 5, false),
            ],
            bindings: vec![
                binding(1, 1, "m-low", true),
                binding(1, 2, "m-high", true),
                binding(1, 3, "m-disabled-channel", true),
                binding(1, 4, "m-no-endpoint", true),
                binding(1, 5, "m-no-key", true),
                binding(2, 1, "off", true),
            ],
            settings: SiteSettings::default(),
        });
        assert_eq!(snap.revision, 4);
        assert!(
            snap.model("off").is_none(),
            "disabled models are not served"
        );
        let m = snap.model("m").unwrap();
        let routes: Vec<_> = m
            .routes
            .iter()
            .map(|r| (r.channel_id, &*r.upstream_model))
            .collect();
        assert_eq!(routes, vec![(2, "m-high"), (1, "m-low")]);
        let mut usable: Vec<_> = snap.channels.keys().copied().collect();
        usable.sort();
        assert_eq!(usable, vec![1, 2]);
        assert_eq!(&*snap.channel(2).unwrap().credentials[0].key, "key-2");
    }

    #[test]
    fn disabled_bindings_are_not_routes() {
        let snap = assemble(Rows {
            revision: 0,
            models: vec![model(1, "m", true)],
            channels: vec![channel(1, 0, true)],
            endpoints: vec![endpoint(1)],
            credentials: vec![cred(1, 1, true)],
            bindings: vec![binding(1, 1, "m", false)],
            settings: SiteSettings::default(),
        });
        assert!(snap.model("m").unwrap().routes.is_empty());
    }

    #[test]
    fn credential_debug_hides_the_key() {
        let c = CatalogCredential::new(3, "sk-secret");
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
