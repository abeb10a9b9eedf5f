//! What the sidebar shows for one Canvas Kit request: the workspace check,
//! the submit's [`Action`] (parsed once from its component id) dispatched
//! to its flow, and the panel drawn from the profile service's answer (the
//! cache, Salesforce, or the last known answer). Always a canvas: every
//! fault becomes a screen, never an HTTP error. A panel drawn from a
//! snapshot is kept serialised in the profile service's render cache, so a
//! warm render answers with bytes already made.

use std::sync::Arc;

use chrono::Utc;

use crate::actions::{ids, Action};
use crate::answer::{self, Answer};
use crate::canvas::{Canvas, CanvasRequest};
use crate::intercom::IntercomClient;
use crate::panels::{self, RenderCtx, View};
use crate::profile::{ProfileService, RenderKey, Source};
use crate::salesforce::cache::QueryCache;
use crate::salesforce::lookup::Profile;
use crate::salesforce::SalesforceClient;

pub struct Sidebar {
    profiles: ProfileService,
    workspace_id: Option<String>,
    /// Create Lead and New Case (`lead_*` / `case_*` submits).
    forms: Option<Arc<crate::forms::Forms>>,
    /// "New Salesforce task" (`task_*` components), when wired.
    tasks: Option<Arc<crate::tasks::Tasks>>,
    /// The conversation's automatic Case and its sync error (the store),
    /// and the worker's wake-up for Retry.
    auto_cases: Option<(crate::store::Store, Arc<tokio::sync::Notify>)>,
}

impl Sidebar {
    pub fn new(
        client: Arc<SalesforceClient>,
        cache: QueryCache<Profile>,
        workspace_id: Option<String>,
    ) -> Sidebar {
        Sidebar {
            profiles: ProfileService::new(client, cache),
            workspace_id,
            forms: None,
            tasks: None,
            auto_cases: None,
        }
    }

    /// Lets the sidebar resolve company ids through the Intercom REST API.
    pub fn with_intercom(mut self, intercom: Arc<IntercomClient>) -> Sidebar {
        self.profiles = self.profiles.with_intercom(intercom);
        self
    }

    /// Shares cache invalidations through the store (every replica).
    pub fn with_store(mut self, store: crate::store::Store) -> Sidebar {
        self.profiles = self.profiles.with_store(store);
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

    /// Shows the conversation's automatic Case and its sync error (Retry
    /// queues its work again and wakes the worker).
    pub fn with_auto_cases(
        mut self,
        store: crate::store::Store,
        wake: Arc<tokio::sync::Notify>,
    ) -> Sidebar {
        self.auto_cases = Some((store, wake));
        self
    }

    pub fn client(&self) -> &Arc<SalesforceClient> {
        self.profiles.client()
    }

    pub fn profiles(&self) -> &ProfileService {
        &self.profiles
    }

    /// The canvas for an initialize request.
    pub async fn initialize(&self, req: &CanvasRequest) -> Canvas {
        self.initialize_answer(req).await.into_canvas()
    }

    /// The canvas for a submit.
    pub async fn submit(&self, req: &CanvasRequest) -> Canvas {
        self.submit_answer(req).await.into_canvas()
    }

    /// The answer to an initialize request, as the route sends it.
    pub async fn initialize_answer(&self, req: &CanvasRequest) -> Answer {
        if self.refuses(req) {
            return panels::workspace_refused_canvas().into();
        }
        self.render(req, Source::Cached, View::Summary { opportunity: None })
            .await
    }

    /// The answer to a submit, as the route sends it. Every submit,
    /// whichever flow it belongs to, passes the workspace check here first.
    pub async fn submit_answer(&self, req: &CanvasRequest) -> Answer {
        if self.refuses(req) {
            return panels::workspace_refused_canvas().into();
        }
        let stored_opportunity = req.stored_str(ids::OPPORTUNITY).map(str::to_string);
        let summary = |opportunity| View::Summary { opportunity };
        match (
            Action::parse(req.component_id.as_deref()),
            self.forms.as_deref(),
        ) {
            (Action::Refetch, _) => {
                // Redraw the tab the teammate is on.
                let view = View::from_stored(req.stored_str("view"), stored_opportunity);
                self.render(req, Source::Refetch, view).await
            }
            (Action::Tab, _) => {
                let view = View::for_tab(req.input_str(ids::TAB), stored_opportunity);
                self.render(req, Source::Peek, view).await
            }
            (Action::Deal, _) => {
                let opportunity = req
                    .component_id
                    .as_deref()
                    .and_then(ids::deal)
                    .map(str::to_string);
                self.render(req, Source::Peek, View::Deals { opportunity })
                    .await
            }
            (Action::ShowCases, _) => {
                let view = View::Cases {
                    opportunity: stored_opportunity,
                };
                self.render(req, Source::Peek, view).await
            }
            (Action::ShowOpportunity, _) => {
                let chosen = req
                    .input_str(ids::OPPORTUNITY)
                    .map(str::to_string)
                    .or(stored_opportunity);
                // A canvas drawn before the tabs: the Deals tab shows it.
                let view = View::Deals {
                    opportunity: chosen,
                };
                self.render(req, Source::Peek, view).await
            }
            (Action::Lead(a), Some(forms)) => {
                let reply = Box::pin(forms.lead(&self.profiles, req, a)).await;
                self.show(req, reply).await.into()
            }
            (Action::Case(a), Some(forms)) => {
                let reply = Box::pin(forms.case(&self.profiles, req, a)).await;
                self.show(req, reply).await.into()
            }
            (Action::AutoCaseRetry, _) => {
                if let (Some((store, wake)), Some(conv)) = (&self.auto_cases, conversation_id(req))
                {
                    let id = crate::store::sync_error_id(crate::store::SyncKind::AutoCase, conv);
                    match Box::pin(store.retry_sync_error(&id)).await {
                        Ok(true) => wake.notify_one(),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "could not queue the case again"),
                    }
                }
                self.render(req, Source::Peek, summary(stored_opportunity))
                    .await
            }
            (Action::Task, _) => match &self.tasks {
                Some(tasks) => tasks.submit(req).await.into(),
                None => {
                    self.render(req, Source::Peek, summary(stored_opportunity))
                        .await
                }
            },
            // Back, a flow that is not wired, and anything this version
            // does not know: the summary.
            (Action::Lead(_) | Action::Case(_) | Action::Summary, _) => {
                self.render(req, Source::Peek, summary(stored_opportunity))
                    .await
            }
        }
    }

    /// A form's answer: its own screen, or the refreshed panel under the
    /// banner of what was created.
    async fn show(&self, req: &CanvasRequest, reply: crate::forms::Reply) -> Canvas {
        match reply {
            crate::forms::Reply::Screen(canvas) => canvas,
            crate::forms::Reply::Created { banner } => {
                let panel = self
                    .render(req, Source::Cached, View::Summary { opportunity: None })
                    .await
                    .into_canvas();
                panels::forms::with_banner(panel, banner)
            }
        }
    }

    /// The conversation's automatic Case and its sync error, to go under
    /// the panel (local reads only: no Salesforce round trip); empty when
    /// it has neither.
    async fn case_section(
        &self,
        req: &CanvasRequest,
        instance: &str,
    ) -> Vec<crate::canvas::components::Component> {
        let (Some((store, _)), Some(conv)) = (&self.auto_cases, conversation_id(req)) else {
            return Vec::new();
        };
        let case = store.case_for(conv).await.ok().flatten();
        let problem = store
            .sync_error_for(crate::store::SyncKind::AutoCase, conv)
            .await
            .ok()
            .flatten();
        let case = case.map(|m| panels::auto_case::CaseLine {
            id: m.case_id,
            number: m.case_number,
            status: m.status,
            owner: m.owner,
        });
        let problem = problem.map(|e| panels::auto_case::CaseProblem {
            attempted: e.attempted,
            message: e.message,
            last_seen: e.last_seen,
            next_retry: e.next_retry,
        });
        panels::auto_case::section(case.as_ref(), problem.as_ref(), instance)
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

    async fn render(&self, req: &CanvasRequest, source: Source, view: View) -> Answer {
        let Some(query) = self.profiles.query(req).await else {
            return panels::no_email_canvas().into();
        };
        let session = match self.profiles.session().await {
            Ok(s) => s,
            Err(e) => return panels::error_canvas(&e).into(),
        };
        let lookup = self.profiles.lookup(req, &session, query);
        let result = self.profiles.read(&lookup, source).await;
        let instance = session.instance_url.as_str().trim_end_matches('/');
        let can_log_task = self.tasks.is_some()
            && req.conversation.as_ref().is_some_and(|c| c.id.is_some())
            && lookup.query.email.is_some();
        match result {
            Ok(c) => {
                // Boxed: keeps the render future small (deep async stacks in tests).
                let extra = Box::pin(self.case_section(req, instance)).await;
                let ctx = RenderCtx {
                    instance_url: instance,
                    now: Utc::now(),
                    fetched_at: c.snapshot.fetched_at,
                    stale: None,
                    can_log_task,
                };
                if !extra.is_empty() {
                    // The conversation's case is not part of the person's
                    // cached render: drawn fresh under it.
                    let mut canvas = panels::profile_canvas(&c.snapshot.value, &view, &ctx);
                    canvas.content.components.extend(extra);
                    return canvas.into();
                }
                let draw =
                    || answer::canvas_body(panels::profile_canvas(&c.snapshot.value, &view, &ctx));
                let bytes = match panels::render_key(&view, &ctx) {
                    Some(screen) => {
                        let key = RenderKey {
                            generation: c.snapshot.generation,
                            screen,
                        };
                        self.profiles.rendered(key, draw).await
                    }
                    None => draw(),
                };
                Answer::Serialised(bytes)
            }
            Err(err) => {
                tracing::warn!(error = %err, "Salesforce lookup failed");
                if err.allows_stale() {
                    if let Some(s) = self.profiles.last_known(&lookup).await {
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
                        )
                        .into();
                    }
                }
                panels::error_canvas(&err).into()
            }
        }
    }
}

/// The conversation a request comes from, if any.
fn conversation_id(req: &CanvasRequest) -> Option<&str> {
    req.conversation
        .as_ref()
        .and_then(|c| c.id.as_deref())
        .filter(|id| !id.is_empty())
}
