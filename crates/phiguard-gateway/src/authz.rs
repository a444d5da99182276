//! Authorization with Cedar: the policy and schema files, the request context, and the four
//! outcomes (allow, deny, step-up, break-the-glass).

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde::Serialize;

use crate::error::SetupError;

/// Default policies shipped with phiguard (copied into DATA-DIR/policies on first start).
pub const DEFAULT_POLICIES: &str = include_str!("../policies/gateway.cedar");
/// Default schema.
pub const DEFAULT_SCHEMA: &str = include_str!("../policies/gateway.cedarschema");

/// Directory holding `gateway.cedar` and `gateway.cedarschema` inside a data dir.
pub fn policy_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("policies")
}

/// The facts a decision is made on.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionContext {
    /// Purpose of use (v3-ActReason).
    pub purpose: String,
    /// Relationship rung code from the monitor.
    pub relation: String,
    /// Whether the rung is a direct clinical link.
    pub direct_relation: bool,
    /// Security labels.
    pub labels: Vec<String>,
    /// Any label is sensitive.
    pub sensitive: bool,
    /// Hour of day (UTC).
    pub hour: i64,
    /// `loopback`, `internal` or `external`.
    pub network: String,
    /// The user's current risk (bits).
    pub risk: i64,
    /// Vault protection level.
    pub protection_level: String,
    /// Strong authentication shown.
    pub step_up: bool,
    /// Second (break-the-glass) evaluation.
    pub break_glass: bool,
    /// FHIR resource type.
    pub resource_type: String,
}

impl DecisionContext {
    /// The context as Cedar attribute pairs (every field of the schema's `RequestContext`).
    fn pairs(&self) -> Vec<(String, RestrictedExpression)> {
        let st = |v: &str| RestrictedExpression::new_string(v.to_string());
        vec![
            ("purpose".into(), st(&self.purpose)),
            ("relation".into(), st(&self.relation)),
            (
                "direct_relation".into(),
                RestrictedExpression::new_bool(self.direct_relation),
            ),
            (
                "labels".into(),
                RestrictedExpression::new_set(self.labels.iter().map(|l| st(l))),
            ),
            (
                "sensitive".into(),
                RestrictedExpression::new_bool(self.sensitive),
            ),
            ("hour".into(), RestrictedExpression::new_long(self.hour)),
            ("network".into(), st(&self.network)),
            ("risk".into(), RestrictedExpression::new_long(self.risk)),
            ("protection_level".into(), st(&self.protection_level)),
            (
                "step_up".into(),
                RestrictedExpression::new_bool(self.step_up),
            ),
            (
                "break_glass".into(),
                RestrictedExpression::new_bool(self.break_glass),
            ),
            ("resource_type".into(), st(&self.resource_type)),
        ]
    }
}

/// The gateway's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve it.
    Allow,
    /// Serve it as break-the-glass: flagged, reviewed afterwards.
    BreakGlass,
    /// Re-authenticate with a stronger method first.
    StepUp,
    /// Refused; the policy ids that decided (for the log, no PHI).
    Deny(Vec<String>),
}

/// Loaded policies, schema and entities builder.
#[derive(Debug)]
pub struct Authorizer {
    policies: PolicySet,
    schema: Schema,
    cedar: CedarAuthorizer,
    /// The principal's entity set (user and roles, checked against the schema), by user and
    /// roles: a user sends many requests with the same token.
    entities: Mutex<HashMap<Principal, Arc<Entities>>>,
}

/// A principal as the entity cache knows it: login and roles.
type Principal = (String, Vec<String>);

/// Most principals whose entity set is kept (the map is emptied when full).
const ENTITY_CACHE: usize = 4096;

fn policy_err(what: &'static str) -> impl Fn(String) -> SetupError {
    move |reason| SetupError::Policy { what, reason }
}

impl Authorizer {
    /// Parses and validates (strict mode) policies against the schema.
    ///
    /// # Errors
    /// [`SetupError::Policy`] with Cedar's message.
    pub fn from_text(policies: &str, schema: &str) -> Result<Self, SetupError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema)
            .map_err(|e| policy_err("schema")(format!("{e:?}")))?;
        let policies =
            PolicySet::from_str(policies).map_err(|e| policy_err("policies")(format!("{e:?}")))?;
        let v = Validator::new(schema.clone());
        let res = v.validate(&policies, ValidationMode::Strict);
        if !res.validation_passed() {
            let msgs: Vec<String> = res.validation_errors().map(|e| e.to_string()).collect();
            return Err(policy_err("validation")(msgs.join("; ")));
        }
        Ok(Self {
            policies,
            schema,
            cedar: CedarAuthorizer::new(),
            entities: Mutex::new(HashMap::new()),
        })
    }

    /// Loads `gateway.cedar` and `gateway.cedarschema` from `dir`, writing the defaults there
    /// first when the directory has none.
    ///
    /// # Errors
    /// I/O or policy errors.
    pub fn load_or_install(dir: &Path) -> Result<Self, SetupError> {
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| SetupError::Io { what, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("policy dir", dir))?;
        let p = dir.join("gateway.cedar");
        let s = dir.join("gateway.cedarschema");
        if !p.exists() {
            std::fs::write(&p, DEFAULT_POLICIES).map_err(io("policies", &p))?;
        }
        if !s.exists() {
            std::fs::write(&s, DEFAULT_SCHEMA).map_err(io("schema", &s))?;
        }
        let pt = std::fs::read_to_string(&p).map_err(io("policies", &p))?;
        let st = std::fs::read_to_string(&s).map_err(io("schema", &s))?;
        Self::from_text(&pt, &st)
    }

    fn uid(ty: &str, id: &str) -> Option<EntityUid> {
        Some(EntityUid::from_type_name_and_id(
            EntityTypeName::from_str(ty).ok()?,
            EntityId::new(id),
        ))
    }

    /// The entity set of a principal: the user with its roles (schema-checked), cached.
    fn entities_of(
        &self,
        principal: &EntityUid,
        user: &str,
        roles: &[String],
    ) -> Option<Arc<Entities>> {
        let key = (user.to_string(), roles.to_vec());
        if let Some(e) = self.entities.lock().ok()?.get(&key) {
            return Some(e.clone());
        }
        let user_entity = Entity::new(
            principal.clone(),
            HashMap::from([(
                "roles".to_string(),
                RestrictedExpression::new_set(
                    roles
                        .iter()
                        .map(|r| RestrictedExpression::new_string(r.clone())),
                ),
            )]),
            HashSet::new(),
        )
        .ok()?;
        let e = Arc::new(Entities::from_entities([user_entity], Some(&self.schema)).ok()?);
        if let Ok(mut m) = self.entities.lock() {
            if m.len() >= ENTITY_CACHE {
                m.clear();
            }
            m.insert(key, e.clone());
        }
        Some(e)
    }

    fn evaluate(
        &self,
        user: &str,
        roles: &[String],
        action: &str,
        resource: (&str, &str),
        ctx: &DecisionContext,
    ) -> Option<(CedarDecision, Vec<String>)> {
        let principal = Self::uid("User", user)?;
        let action = Self::uid("Action", action)?;
        let resource = Self::uid(resource.0, resource.1)?;
        // Built directly (no JSON round trip); `Request::new` and `Entities::from_entities`
        // still check both against the schema.
        let context = Context::from_pairs(ctx.pairs()).ok()?;
        let entities = self.entities_of(&principal, user, roles)?;
        let req = Request::new(principal, action, resource, context, Some(&self.schema)).ok()?;
        let resp = self
            .cedar
            .is_authorized(&req, &self.policies, entities.as_ref());
        // The policy ids are only reported for a refusal; an allowed request skips them.
        let ids = match resp.decision() {
            CedarDecision::Allow => vec![],
            CedarDecision::Deny => resp
                .diagnostics()
                .reason()
                .map(|id| id.to_string())
                .collect(),
        };
        Some((resp.decision(), ids))
    }

    fn allows(
        &self,
        user: &str,
        roles: &[String],
        action: &str,
        resource: (&str, &str),
        ctx: &DecisionContext,
    ) -> (bool, Vec<String>) {
        match self.evaluate(user, roles, action, resource, ctx) {
            Some((CedarDecision::Allow, ids)) => (true, ids),
            Some((_, ids)) => (false, ids),
            None => (false, vec!["context-error".into()]),
        }
    }

    /// Decides. `break_glass_requested` is true when the request declared purpose BTG/ETREAT
    /// and gave a reason. Step-up is answered when the same request would be allowed with
    /// `context.step_up = true`; break-the-glass when a denied request would be allowed with
    /// `context.break_glass = true`. Any internal failure (bad entity id, context not
    /// matching the schema) denies.
    pub fn decide(
        &self,
        user: &str,
        roles: &[String],
        action: &str,
        resource: (&str, &str),
        ctx: &DecisionContext,
        break_glass_requested: bool,
    ) -> Decision {
        let mut ctx = ctx.clone();
        ctx.break_glass = false;
        let (ok, ids) = self.allows(user, roles, action, resource, &ctx);
        if ok {
            return Decision::Allow;
        }
        let stepped = DecisionContext {
            step_up: true,
            ..ctx.clone()
        };
        if !ctx.step_up && self.allows(user, roles, action, resource, &stepped).0 {
            return Decision::StepUp;
        }
        if break_glass_requested {
            ctx.break_glass = true;
            if self.allows(user, roles, action, resource, &ctx).0 {
                return Decision::BreakGlass;
            }
            let stepped = DecisionContext {
                step_up: true,
                ..ctx.clone()
            };
            if !ctx.step_up && self.allows(user, roles, action, resource, &stepped).0 {
                return Decision::StepUp;
            }
        }
        Decision::Deny(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DecisionContext {
        DecisionContext {
            purpose: "TREAT".into(),
            relation: "care-current".into(),
            direct_relation: true,
            labels: vec![],
            sensitive: false,
            hour: 10,
            network: "loopback".into(),
            risk: 0,
            protection_level: "normal".into(),
            step_up: false,
            break_glass: false,
            resource_type: "Observation".into(),
        }
    }

    #[test]
    fn context_pairs_name_every_field_once() {
        let v = serde_json::to_value(ctx()).unwrap();
        let mut fields: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        let mut pairs: Vec<String> = ctx().pairs().into_iter().map(|(k, _)| k).collect();
        fields.sort();
        pairs.sort();
        assert_eq!(fields, pairs);
    }

    #[test]
    fn default_policies_validate_and_decide() {
        let a = Authorizer::from_text(DEFAULT_POLICIES, DEFAULT_SCHEMA).unwrap();
        let clin = vec!["clinician".to_string()];
        let p = ("Patient", "p1");
        assert_eq!(
            a.decide("alice", &clin, "read", p, &ctx(), false),
            Decision::Allow
        );
        let mut none = ctx();
        none.direct_relation = false;
        none.relation = "none".into();
        assert!(matches!(
            a.decide("alice", &clin, "read", p, &none, false),
            Decision::Deny(_)
        ));
        let mut btg = none.clone();
        btg.purpose = "BTG".into();
        assert_eq!(
            a.decide("alice", &clin, "read", p, &btg, true),
            Decision::BreakGlass
        );
        // No clinician role: no break-the-glass either.
        assert!(matches!(
            a.decide("bob", &[], "read", p, &btg, true),
            Decision::Deny(_)
        ));
        let mut sens = ctx();
        sens.sensitive = true;
        sens.labels = vec!["PSY".into()];
        assert_eq!(
            a.decide("alice", &clin, "read", p, &sens, false),
            Decision::StepUp
        );
        sens.step_up = true;
        assert_eq!(
            a.decide("alice", &clin, "read", p, &sens, false),
            Decision::Allow
        );
        let mut lock = btg.clone();
        lock.protection_level = "lockdown".into();
        assert!(matches!(
            a.decide("alice", &clin, "read", p, &lock, true),
            Decision::Deny(_)
        ));
        let aud = vec!["auditor".to_string()];
        assert_eq!(
            a.decide(
                "carol",
                &aud,
                "audit",
                ("AuditTrail", "ledger"),
                &ctx(),
                false
            ),
            Decision::Allow
        );
        assert!(matches!(
            a.decide(
                "alice",
                &clin,
                "audit",
                ("AuditTrail", "ledger"),
                &ctx(),
                false
            ),
            Decision::Deny(_)
        ));
        // Weird ids are just strings to Cedar.
        assert!(matches!(
            a.decide("\"; permit", &[], "read", ("Patient", "../x"), &none, false),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn invalid_policies_are_refused() {
        let bad = "permit (principal, action, resource) when { context.nope == 1 };";
        assert!(Authorizer::from_text(bad, DEFAULT_SCHEMA).is_err());
        assert!(Authorizer::from_text("permit (", DEFAULT_SCHEMA).is_err());
    }
}
