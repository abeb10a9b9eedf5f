//! What the sidebar shows for one Canvas Kit request: who the person is,
//! where their Salesforce data comes from (cache, Salesforce, or the last
//! known answer), and which screen to draw. Always a canvas: every fault
//! becomes a screen, never an HTTP error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::canvas::{Canvas, CanvasRequest, Person};
use crate::intercom::IntercomClient;
use crate::panels::{self, ids, RenderCtx, View};
use crate::salesforce::auth::Session;
use crate::salesforce::cache::{CacheKey, Cached, QueryCache, Snapshot};
use crate::salesforce::lookup::{self, OrgFacts, PersonQuery, Profile};
use crate::salesforce::{SalesforceClient, SalesforceError};

/// Where a render may take its data from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Cache, else one shared fetch.
    Cached,
    /// Whatever we already have, however old (navigation inside a screen
    /// must not cost a Salesforce call); fetch only when there is nothing.
    Peek,
    /// Skip the cache (the refresh and retry buttons).
    Refetch,
}

pub struct Sidebar {
    client: Arc<SalesforceClient>,
    cache: QueryCache<Profile>,
    /// What the first lookup in each org learned of it (currency).
    org_facts: Mutex<HashMap<String, OrgFacts>>,
    workspace_id: Option<String>,
    /// Create Lead and New Case (`lead_*` / `case_*` submits).
    forms: Option<Arc<crate::forms::Forms>>,
    /// "New Salesforce task" (`task_*` components), when wired.
    tasks: Option<Arc<crate::tasks::Tasks>>,
    /// Resolves company ids to names (Canvas Kit requests carry only ids).
    intercom: Option<Arc<IntercomClient>>,
    /// (workspace, Intercom contact id) → company names, so a warm render
    /// makes no Intercom call either.
    company_names: moka::future::Cache<(String, String), Arc<Vec<String>>>,
}

impl Sidebar {
    pub fn new(
        client: Arc<SalesforceClient>,
        cache: QueryCache<Profile>,
        workspace_id: Option<String>,
    ) -> Sidebar {
        Sidebar {
            client,
            cache,
            org_facts: Mutex::new(HashMap::new()),
            workspace_id,
            forms: None,
            tasks: None,
            intercom: None,
            company_names: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
        }
    }

    /// Lets the sidebar resolve company ids through the Intercom REST API.
    pub fn with_intercom(mut self, intercom: Arc<IntercomClient>) -> Sidebar {
        self.intercom = Some(intercom);
        self
    }

    pub fn with_forms(mut self, forms: crate::forms::Forms) -> Sidebar {
        self.forms = Some(Arc::new(forms));
        self
    }

    /// Wires the "New Salesforce task" flow.
    pub fn with_tasks(mut self, tasks: Arc<crate::tasks::Tasks>) -> Sidebar {
        self.tasks = Some(tasks);
        self
    }

    pub fn client(&self) -> &Arc<SalesforceClient> {
        &self.client
    }

    pub fn cache(&self) -> &QueryCache<Profile> {
        &self.cache
    }

    pub async fn initialize(&self, req: &CanvasRequest) -> Canvas {
        if self.refuses(req) {
            return panels::workspace_refused_canvas();
        }
        self.render(req, Source::Cached, View::Summary { opportunity: None })
            .await
    }

    /// Every submit, whichever flow it belongs to, passes the workspace
    /// check here first.
    pub async fn submit(&self, req: &CanvasRequest) -> Canvas {
        if self.refuses(req) {
            return panels::workspace_refused_canvas();
        }
        let stored_opportunity = req.stored_str(ids::OPPORTUNITY).map(str::to_string);
        match req.component_id.as_deref().unwrap_or("") {
            ids::REFRESH | ids::RETRY => {
                self.render(
                    req,
                    Source::Refetch,
                    View::Summary {
                        opportunity: stored_opportunity,
                    },
                )
                .await
            }
            ids::SHOW_CASES => {
                self.render(
                    req,
                    Source::Peek,
                    View::Cases {
                        opportunity: stored_opportunity,
                    },
                )
                .await
            }
            id if crate::forms::handles(id) && self.forms.is_some() => {
                let forms = self.forms.as_ref().expect("checked above");
                forms.submit(self, req).await
            }
            id if id.starts_with("task_") && self.tasks.is_some() => {
                let tasks = self.tasks.as_ref().expect("checked above");
                tasks.submit(req).await
            }
            ids::SHOW_OPPORTUNITY => {
                let chosen = req
                    .input_str(ids::OPPORTUNITY)
                    .map(str::to_string)
                    .or(stored_opportunity);
                self.render(
                    req,
                    Source::Peek,
                    View::Summary {
                        opportunity: chosen,
                    },
                )
                .await
            }
            // Back, and anything this version does not know: the summary.
            _ => {
                self.render(
                    req,
                    Source::Peek,
                    View::Summary {
                        opportunity: stored_opportunity,
                    },
                )
                .await
            }
        }
    }

    /// `INTERCOM_WORKSPACE_ID` is set and this request comes from another.
    fn refuses(&self, req: &CanvasRequest) -> bool {
        let workspace = req.workspace_id.as_deref().unwrap_or_default();
        let refused = self
            .workspace_id
            .as_deref()
            .is_some_and(|allowed| allowed != workspace);
        if refused {
            tracing::warn!(%workspace, "request from a workspace this app does not serve");
        }
        refused
    }

    async fn render(&self, req: &CanvasRequest, source: Source, view: View) -> Canvas {
        let Some(q) = self.person_query(req).await else {
            return panels::no_email_canvas();
        };
        let session = match self.client.session().await {
            Ok(s) => s,
            Err(e) => return panels::error_canvas(&e),
        };
        let key = cache_key(req, &session, &q);
        let fetch = self.fetch(&session.org_id, &q);
        let result = match source {
            Source::Cached => self.cache.get_or_fetch(&key, fetch).await,
            Source::Refetch => self.cache.refetch(&key, fetch).await,
            Source::Peek => match self.cache.peek(&key).await {
                Some(snapshot) => Ok(Cached {
                    snapshot,
                    fetched: false,
                }),
                None => self.cache.get_or_fetch(&key, fetch).await,
            },
        };
        let instance = session.instance_url.as_str().trim_end_matches('/');
        let can_log_task = self.tasks.is_some()
            && req.conversation.as_ref().is_some_and(|c| c.id.is_some())
            && q.email.is_some();
        match result {
            Ok(c) => panels::profile_canvas(
                &c.snapshot.value,
                &view,
                &RenderCtx {
                    instance_url: instance,
                    now: Utc::now(),
                    fetched_at: c.snapshot.fetched_at,
                    stale: None,
                    can_log_task,
                },
            ),
            Err(err) => {
                tracing::warn!(error = %err, "Salesforce lookup failed");
                if err.allows_stale() {
                    if let Some(s) = self.cache.last_known(&key).await {
                        return panels::profile_canvas(
                            &s.value,
                            &view,
                            &RenderCtx {
                                instance_url: instance,
                                now: Utc::now(),
                                fetched_at: s.fetched_at,
                                stale: Some(&err),
                                can_log_task,
                            },
                        );
                    }
                }
                panels::error_canvas(&err)
            }
        }
    }

    /// What this request asks Salesforce about: the person's role, email and
    /// companies. `None` when there is nothing to match on.
    async fn person_query(&self, req: &CanvasRequest) -> Option<PersonQuery> {
        let person = req.person()?;
        let companies = self.company_names(req, person).await;
        let q = PersonQuery::new(person.role(), person.email(), companies);
        (q.email.is_some() || !q.companies.is_empty()).then_some(q)
    }

    /// The person's profile through the same cache entry (and shared fetch)
    /// a panel render uses; `None` when there is nothing to match on. For
    /// flows that act on the person (forms) rather than show them.
    pub async fn cached_profile(
        &self,
        req: &CanvasRequest,
        session: &Session,
    ) -> Result<Option<Arc<Snapshot<Profile>>>, SalesforceError> {
        let Some(q) = self.person_query(req).await else {
            return Ok(None);
        };
        self.cache
            .get_or_fetch(
                &cache_key(req, session, &q),
                self.fetch(&session.org_id, &q),
            )
            .await
            .map(|c| Some(c.snapshot))
            .map_err(|e| (*e).clone())
    }

    /// Drops every cached lookup of these emails in the request's workspace
    /// and this org (after this server wrote a record for them), so the next
    /// render shows it at once.
    pub fn forget_emails(&self, req: &CanvasRequest, org: &str, emails: &[&str]) {
        let workspace = req.workspace_id.clone().unwrap_or_default();
        let org = org.to_string();
        let emails: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
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

    async fn fetch(&self, org: &str, q: &PersonQuery) -> Result<Profile, SalesforceError> {
        let known = self.org_facts.lock().unwrap().get(org).cloned();
        let (profile, facts) = lookup::fetch(&self.client, q, known).await?;
        self.org_facts
            .lock()
            .unwrap()
            .insert(org.to_string(), facts);
        Ok(profile)
    }
}

fn cache_key(req: &CanvasRequest, session: &Session, q: &PersonQuery) -> CacheKey {
    CacheKey {
        workspace: req.workspace_id.clone().unwrap_or_default(),
        org: session.org_id.clone(),
        query: q.cache_identity(),
    }
}
