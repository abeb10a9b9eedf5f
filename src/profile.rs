//! Who the signed person is in Salesforce, for every flow that asks: the
//! profile service owns the Salesforce client handle, the profile cache
//! (one entry per workspace, org and lookup), the currency memo (what the
//! first lookup in each org learned of it) and the person's company names
//! through Intercom. The sidebar renders from it; the forms re-check a
//! submit against it and hand it the answers of the lookup that rode
//! along with their create.
//!
//! It also keeps the render cache: the serialised canvas of each screen
//! drawn from a snapshot, under the snapshot's generation and the
//! renderer's key for the rest ([`RenderKey`]), so a warm render is a
//! lookup and a write of bytes already made. A refetch, a write's lookup or
//! an invalidation makes or leaves a new snapshot, with a new generation:
//! no canvas drawn from an older one can be found for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::canvas::{CanvasRequest, Person};
use crate::intercom::IntercomClient;
use crate::salesforce::auth::Session;
use crate::salesforce::cache::{CacheKey, Cached, QueryCache, Snapshot};
use crate::salesforce::client::{SubRequest, SubResponse};
use crate::salesforce::lookup::{self, OrgFacts, PanelFieldNames, PersonQuery, Profile};
use crate::salesforce::{SalesforceClient, SalesforceError};

/// Where a read may take the profile from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Cache, else one shared fetch.
    Cached,
    /// Whatever we already have, however old (navigation inside a screen
    /// must not cost a Salesforce call); fetch only when there is nothing.
    Peek,
    /// Skip the cache (the refresh and retry buttons).
    Refetch,
}

/// Under what a serialised canvas is kept: the snapshot it was drawn from
/// and everything else the canvas depends on, as the renderer names it
/// (`panels::render_key`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    pub generation: u64,
    pub screen: String,
}

/// The render cache's share of the profile cache's bound (`CACHE_MAX_BYTES`).
const RENDER_SHARE: u64 = 4;

/// One person's lookup in one org: what to ask, and where it is cached.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub query: PersonQuery,
    pub key: CacheKey,
}

pub struct ProfileService {
    client: Arc<SalesforceClient>,
    cache: QueryCache<Profile>,
    /// What the first lookup in each org learned of it (currency).
    org_facts: Mutex<HashMap<String, OrgFacts>>,
    /// Resolves company ids to names (Canvas Kit requests carry only ids).
    intercom: Option<Arc<IntercomClient>>,
    /// (workspace, Intercom contact id) → company names, so a warm render
    /// makes no Intercom call either.
    company_names: moka::future::Cache<(String, String), Arc<Vec<String>>>,
    /// Tells the other replicas about writes (their caches drop the person).
    store: Option<crate::store::Store>,
    /// The panel fields each workspace chose (key `""`: every workspace
    /// without its own); none: the built-in sets.
    panel_fields: std::sync::RwLock<HashMap<String, PanelFieldNames>>,
    /// Serialised canvases of drawn screens, bounded in bytes (a quarter
    /// of the profile cache's bound), least recently used out first.
    renders: moka::future::Cache<RenderKey, Bytes>,
}

impl ProfileService {
    pub fn new(client: Arc<SalesforceClient>, cache: QueryCache<Profile>) -> ProfileService {
        let renders = moka::future::Cache::builder()
            .max_capacity((cache.max_bytes() / RENDER_SHARE).max(1))
            .weigher(|k: &RenderKey, v: &Bytes| {
                u32::try_from(128 + k.screen.len() + v.len()).unwrap_or(u32::MAX)
            })
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        ProfileService {
            renders,
            client,
            cache,
            org_facts: Mutex::new(HashMap::new()),
            intercom: None,
            company_names: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
            store: None,
            panel_fields: std::sync::RwLock::new(HashMap::new()),
        }
    }

    /// The fields `workspace`'s panels show from now on (`None`: every
    /// workspace without its own). Lookups select them; a change is a new
    /// cache identity, so no panel shows the old set.
    pub fn set_panel_fields(&self, workspace: Option<&str>, fields: PanelFieldNames) {
        let mut map = self.panel_fields.write().unwrap_or_else(|p| p.into_inner());
        map.insert(workspace.unwrap_or_default().to_string(), fields);
    }

    fn panel_fields(&self, workspace: Option<&str>) -> PanelFieldNames {
        let map = self.panel_fields.read().unwrap_or_else(|p| p.into_inner());
        workspace
            .and_then(|w| map.get(w))
            .or_else(|| map.get(""))
            .cloned()
            .unwrap_or_default()
    }

    /// Publishes invalidations through the store (NOTIFY on PostgreSQL).
    pub fn with_store(mut self, store: crate::store::Store) -> ProfileService {
        self.store = Some(store);
        self
    }

    /// Lets the service resolve company ids through the Intercom REST API.
    pub fn with_intercom(mut self, intercom: Arc<IntercomClient>) -> ProfileService {
        self.intercom = Some(intercom);
        self
    }

    /// The profile cache (benchmarks read its usage).
    pub fn cache(&self) -> &QueryCache<Profile> {
        &self.cache
    }

    pub fn client(&self) -> &Arc<SalesforceClient> {
        &self.client
    }

    /// The current Salesforce session.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        self.client.session().await
    }

    /// What this request asks Salesforce about: the person's role, email
    /// and companies; `None` when there is nothing to match on.
    pub async fn query(&self, req: &CanvasRequest) -> Option<PersonQuery> {
        let person = req.person()?;
        let companies = self.company_names(req, person).await;
        let query = PersonQuery::new(person.role(), person.email(), companies)
            .with_fields(self.panel_fields(req.workspace_id.as_deref()));
        (query.email.is_some() || !query.companies.is_empty()).then_some(query)
    }

    /// The lookup of `query` for this request's workspace, in this org.
    pub fn lookup(&self, req: &CanvasRequest, session: &Session, query: PersonQuery) -> Lookup {
        let key = CacheKey {
            workspace: req.workspace_id.clone().unwrap_or_default(),
            org: session.org_id.clone(),
            query: query.cache_identity(),
        };
        Lookup { query, key }
    }

    /// [`query`](Self::query) and [`lookup`](Self::lookup) in one.
    pub async fn lookup_for(&self, req: &CanvasRequest, session: &Session) -> Option<Lookup> {
        let query = self.query(req).await?;
        Some(self.lookup(req, session, query))
    }

    /// The profile from `source`.
    pub async fn read(
        &self,
        lookup: &Lookup,
        source: Source,
    ) -> Result<Cached<Profile>, Arc<SalesforceError>> {
        let fetch = self.fetch(&lookup.key.org, &lookup.query);
        match source {
            Source::Cached => self.cache.get_or_fetch(&lookup.key, fetch).await,
            Source::Refetch => self.cache.refetch(&lookup.key, fetch).await,
            Source::Peek => match self.cache.peek(&lookup.key).await {
                Some(snapshot) => Ok(Cached {
                    snapshot,
                    fetched: false,
                }),
                None => self.cache.get_or_fetch(&lookup.key, fetch).await,
            },
        }
    }

    /// The serialised canvas kept under `key`, else `draw`'s, kept.
    pub async fn rendered(&self, key: RenderKey, draw: impl FnOnce() -> Bytes) -> Bytes {
        if let Some(bytes) = self.renders.get(&key).await {
            return bytes;
        }
        let bytes = draw();
        self.renders.insert(key, bytes.clone()).await;
        bytes
    }

    /// Entries and bytes of the render cache (after pending evictions ran),
    /// for benchmarks.
    pub async fn render_usage(&self) -> (u64, u64) {
        self.renders.run_pending_tasks().await;
        (self.renders.entry_count(), self.renders.weighted_size())
    }

    /// The last good answer, for when Salesforce fails.
    pub async fn last_known(&self, lookup: &Lookup) -> Option<Arc<Snapshot<Profile>>> {
        self.cache.last_known(&lookup.key).await
    }

    /// The person's profile through the same cache entry (and shared
    /// fetch) a panel render uses; `None` when there is nothing to match
    /// on. What a submit is re-checked against.
    pub async fn current(
        &self,
        req: &CanvasRequest,
        session: &Session,
    ) -> Result<Option<Arc<Snapshot<Profile>>>, SalesforceError> {
        let Some(lookup) = self.lookup_for(req, session).await else {
            return Ok(None);
        };
        self.read(&lookup, Source::Cached)
            .await
            .map(|c| Some(c.snapshot))
            .map_err(|e| (*e).clone())
    }

    /// The subrequests of this lookup, to send behind a write in the same
    /// composite; their answers go to [`absorb`](Self::absorb).
    pub fn plan(&self, lookup: &Lookup) -> Vec<SubRequest> {
        let facts = self.known_facts(&lookup.key.org);
        lookup::plan(&self.client, &lookup.query, facts.as_ref())
    }

    /// Takes the answers to [`plan`](Self::plan) as the person's fresh
    /// profile (cached, as a fetch would be). Fails, caching nothing, when
    /// they are not a complete answer.
    pub async fn absorb(
        &self,
        lookup: &Lookup,
        answers: Vec<SubResponse>,
    ) -> Result<(), SalesforceError> {
        let facts = self.known_facts(&lookup.key.org);
        let (profile, facts) =
            lookup::fetch_from(&self.client, &lookup.query, facts, answers).await?;
        self.learn(&lookup.key.org, facts);
        self.cache
            .refetch(&lookup.key, async { Ok(profile) })
            .await
            .map(|_| ())
            .map_err(|e| (*e).clone())
    }

    /// Drops every cached lookup of these emails in this workspace and org
    /// (after this server wrote a record for them), so the next render
    /// shows it at once.
    pub fn forget_emails(&self, workspace: &str, org: &str, emails: &[&str]) {
        let emails: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
        self.forget_local(workspace, org, &emails);
        if let Some(store) = self.store.clone() {
            // Every replica's cache (PostgreSQL: NOTIFY; SQLite: this process).
            let inv = crate::store::Invalidation {
                workspace: workspace.to_string(),
                org: org.to_string(),
                emails,
            };
            tokio::spawn(async move {
                if let Err(e) = store.invalidate(inv).await {
                    tracing::warn!(error = %e, "could not tell the other replicas about a write");
                }
            });
        }
    }

    /// Drops this process's cached lookups of these emails.
    pub fn forget_local(&self, workspace: &str, org: &str, emails: &[String]) {
        let (workspace, org, emails) = (workspace.to_string(), org.to_string(), emails.to_vec());
        self.cache.invalidate_where(move |k| {
            k.workspace == workspace
                && k.org == org
                && emails
                    .iter()
                    .any(|e| PersonQuery::identity_has_email(&k.query, e))
        });
    }

    /// The person's company names: from the request when it has them, else
    /// `GET /contacts/{id}/companies` (cached). An Intercom fault only
    /// loses the company match, never the panel.
    async fn company_names(&self, req: &CanvasRequest, person: &Person) -> Vec<String> {
        let names = person.company_names();
        let (Some(intercom), Some(id)) = (&self.intercom, person.id.as_deref()) else {
            return names;
        };
        if !names.is_empty() || !person.has_company_refs() || !intercom.is_configured() {
            return names;
        }
        let key = (req.workspace_id.clone().unwrap_or_default(), id.to_string());
        let region = req.workspace_region.as_deref();
        match self
            .company_names
            .try_get_with(key, async {
                intercom
                    .contact_company_names(region, id)
                    .await
                    .map(Arc::new)
            })
            .await
        {
            Ok(found) => found.as_ref().clone(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the person's companies from Intercom");
                names
            }
        }
    }

    fn known_facts(&self, org: &str) -> Option<OrgFacts> {
        self.org_facts.lock().unwrap().get(org).cloned()
    }

    fn learn(&self, org: &str, facts: OrgFacts) {
        self.org_facts
            .lock()
            .unwrap()
            .insert(org.to_string(), facts);
    }

    async fn fetch(&self, org: &str, q: &PersonQuery) -> Result<Profile, SalesforceError> {
        let (profile, facts) = lookup::fetch(&self.client, q, self.known_facts(org)).await?;
        self.learn(org, facts);
        Ok(profile)
    }
}
