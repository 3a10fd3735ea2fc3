//! Users of a domain.

use serde::Serialize;
use serde_json::json;
use switchboard_core::contact::{MAX_NAME_LEN, email, single_line};
use switchboard_core::event::EventKind;
use switchboard_core::model::{Domain, User};
use switchboard_core::paging::Page;
use switchboard_core::{Extension, FieldError, Invalid, Scope};
use switchboard_store::{NewUser, PasswordChange, UserFilter, UserPatch};

use crate::App;
use crate::auth::{Caller, check_password, generate_password};
use crate::authz::{UserListing, access};
use crate::error::{AppError, Result, forbidden};
use crate::inputs::{ListParams, UserInput, UserPatchInput};
use crate::records::{changes, list_query};

/// A created user, with the generated password when none was given (shown once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    single_line(value, MAX_NAME_LEN).unwrap_or_else(|message| {
        errors.push(FieldError { field: field.into(), message });
        String::new()
    })
}

impl App {
    pub async fn list_users(&self, caller: &Caller, domain: &str, params: &ListParams) -> Result<Page<User>> {
        self.list_users_of(caller, domain, None, params).await
    }

    /// The domain's call-center agents, for whoever may list them (supervisors, managers).
    pub async fn list_agents(&self, caller: &Caller, domain: &str, params: &ListParams) -> Result<Page<User>> {
        self.list_users_of(caller, domain, Some(Scope::CallCenterAgent), params).await
    }

    /// Users the caller may list, of one scope when given.
    async fn list_users_of(
        &self,
        caller: &Caller,
        domain: &str,
        scope: Option<Scope>,
        params: &ListParams,
    ) -> Result<Page<User>> {
        let domain = self.reachable_domain(caller, domain).await?;
        let listing = access(caller, &domain).and_then(|a| a.user_listing()).ok_or_else(|| forbidden("list users"))?;
        let filter = match listing {
            UserListing::All => UserFilter { site: None, scope },
            UserListing::Site(site) => UserFilter { site: Some(site), scope },
            UserListing::Agents => UserFilter { site: None, scope: Some(Scope::CallCenterAgent) },
        };
        Ok(self.store.list_users(domain.id, &filter, &list_query(params)?).await?)
    }

    /// The scopes the caller may give the users they create or edit, most powerful first.
    pub async fn grantable_scopes(&self, caller: &Caller, domain: &str) -> Result<Vec<Scope>> {
        let domain = self.reachable_domain(caller, domain).await?;
        Ok(access(caller, &domain).ok_or(AppError::NotFound)?.grantable_scopes())
    }

    /// A user: visible to themself and to whoever may list them.
    pub async fn get_user(&self, caller: &Caller, domain: &str, ext: &str) -> Result<User> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if !can_see(&access, &user) {
            return Err(forbidden("see other users"));
        }
        Ok(user)
    }

    pub async fn create_user(&self, caller: &Caller, domain: &str, input: UserInput) -> Result<CreatedUser> {
        let domain = self.reachable_domain(caller, domain).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let mut errors = Vec::new();
        let extension = input
            .extension
            .parse::<Extension>()
            .map_err(|m| errors.push(FieldError { field: "extension".into(), message: m }))
            .ok();
        let scope = input
            .scope
            .as_deref()
            .unwrap_or("basic-user")
            .parse::<Scope>()
            .map_err(|m| errors.push(FieldError { field: "scope".into(), message: m }))
            .ok();
        let new = NewUser {
            domain_id: domain.id,
            extension: extension.clone().unwrap_or_else(|| "0".parse().expect("valid")),
            first_name: text(&mut errors, "first_name", &input.first_name),
            last_name: text(&mut errors, "last_name", &input.last_name),
            email: email(&input.email).unwrap_or_else(|message| {
                errors.push(FieldError { field: "email".into(), message });
                String::new()
            }),
            department: text(&mut errors, "department", &input.department),
            site: text(&mut errors, "site", &input.site),
            scope: scope.unwrap_or(Scope::BasicUser),
            listed: input.listed.unwrap_or(true),
            password_hash: String::new(),
        };
        if let Some(password) = &input.password
            && let Err(message) = check_password(password)
        {
            errors.push(FieldError { field: "password".into(), message });
        }
        if !errors.is_empty() {
            return Err(Invalid(errors).into());
        }
        if !access.can_manage_user(new.scope, &new.site) {
            return Err(forbidden("create this user"));
        }
        let generated_password = input.password.is_none().then(generate_password);
        let password = input.password.clone().or_else(|| generated_password.clone()).expect("one of them is set");
        let new = NewUser { password_hash: self.hash_new_password(password).await?, ..new };
        let audit = self.audit(
            caller,
            Some(domain.id),
            "user.create",
            None,
            json!({ "extension": new.extension.as_str(), "scope": new.scope }),
        );
        let user = self.store.create_user(new, audit).await.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict("a user with this extension exists in the domain".into()),
            other => other,
        })?;
        self.publish(domain.id, EventKind::UserChanged { user_id: user.id }).await;
        Ok(CreatedUser { user, generated_password })
    }

    pub async fn update_user(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        if_match: Option<i64>,
        patch: UserPatchInput,
    ) -> Result<User> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let is_self = access.is_user(&user);
        let manages = access.can_manage_user(user.scope, &user.site);
        if !is_self && !manages {
            return Err(if can_see(&access, &user) {
                forbidden("change this user")
            } else {
                forbidden("see other users")
            });
        }
        let mut errors = Vec::new();
        let mut opt = |field: &str, value: &Option<String>| value.as_ref().map(|v| text(&mut errors, field, v));
        let mut store_patch = UserPatch {
            first_name: opt("first_name", &patch.first_name),
            last_name: opt("last_name", &patch.last_name),
            department: opt("department", &patch.department),
            site: opt("site", &patch.site),
            email: None,
            scope: None,
            listed: patch.listed,
            password: None,
        };
        if let Some(value) = &patch.email {
            store_patch.email =
                email(value).map_err(|message| errors.push(FieldError { field: "email".into(), message })).ok();
        }
        if let Some(value) = &patch.scope {
            store_patch.scope = value
                .parse::<Scope>()
                .map_err(|message| errors.push(FieldError { field: "scope".into(), message }))
                .ok();
        }
        if let Some(password) = &patch.password
            && let Err(message) = check_password(password)
        {
            errors.push(FieldError { field: "password".into(), message });
        }
        if !errors.is_empty() {
            return Err(Invalid(errors).into());
        }
        // People may edit their own name and password; scope, site, listing and
        // department are their managers' to change, within the managers' own reach.
        let touches_admin_fields = store_patch.scope.is_some()
            || store_patch.site.is_some()
            || store_patch.listed.is_some()
            || store_patch.department.is_some();
        let new_scope = store_patch.scope.unwrap_or(user.scope);
        let new_site = store_patch.site.clone().unwrap_or_else(|| user.site.clone());
        if touches_admin_fields && !(manages && access.can_manage_user(new_scope, &new_site)) {
            return Err(forbidden("change this user's scope, site, department or listing"));
        }
        if let Some(password) = patch.password {
            let keep_session = if is_self {
                self.check_current_password(caller, &domain, &user, patch.current_password.as_deref()).await?
            } else {
                None
            };
            let audit = self.audit(
                caller,
                Some(domain.id),
                "user.password",
                Some(user.id),
                json!({ "extension": user.extension.as_str() }),
            );
            let hash = self.hash_new_password(password).await?;
            store_patch.password = Some(PasswordChange { hash, keep_session, audit });
        }
        let before = serde_json::to_value(&user).unwrap_or_default();
        let mut preview = user.clone();
        apply(&mut preview, &store_patch);
        let details = json!({ "extension": user.extension.as_str(), "changes": changes(&before, &serde_json::to_value(&preview).unwrap_or_default()) });
        let audit = self.audit(caller, Some(domain.id), "user.update", Some(user.id), details);
        let updated = self.store.update_user(user.id, if_match, store_patch, audit).await?;
        self.publish(domain.id, EventKind::UserChanged { user_id: user.id }).await;
        Ok(updated)
    }

    /// Moves a user to the trash with everything theirs (see [`App::restore_user`]); their
    /// sessions and API tokens end at once.
    pub async fn delete_user(&self, caller: &Caller, domain: &str, ext: &str) -> Result<()> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if access.is_user(&user) || !access.can_manage_user(user.scope, &user.site) {
            return Err(forbidden("delete this user"));
        }
        let audit = self.audit(
            caller,
            Some(domain.id),
            "user.delete",
            Some(user.id),
            json!({ "extension": user.extension.as_str() }),
        );
        self.store.delete_user(user.id, audit).await?;
        self.publish(domain.id, EventKind::UserChanged { user_id: user.id }).await;
        Ok(())
    }

    /// Sets a user's password as the operator (the CLI's `user passwd`): every session
    /// of the user ends.
    pub async fn set_password(&self, caller: &Caller, domain: &str, ext: &str, password: &str) -> Result<()> {
        let patch = UserPatchInput { password: Some(password.to_string()), ..Default::default() };
        self.update_user(caller, domain, ext, None, patch).await.map(|_| ())
    }

    /// A user changing their own password: needs the current one; their other
    /// sessions end, the one they are using lives on.
    pub async fn change_own_password(&self, caller: &Caller, current: &str, new: &str) -> Result<()> {
        let Caller::User { user, domain, .. } = caller else { return Err(AppError::NotFound) };
        let patch = UserPatchInput {
            password: Some(new.to_string()),
            current_password: Some(current.to_string()),
            ..Default::default()
        };
        self.update_user(caller, domain.name.as_str(), user.extension.as_str(), None, patch).await.map(|_| ())
    }

    /// Checks the password of a user changing their own, under the password throttle
    /// (a stolen session cannot try passwords faster than a login could). Returns the
    /// session to keep: the caller's.
    async fn check_current_password(
        &self,
        caller: &Caller,
        domain: &Domain,
        user: &User,
        current: Option<&str>,
    ) -> Result<Option<uuid::Uuid>> {
        let Caller::User { token_id, .. } = caller else { return Ok(None) };
        let wrong =
            |message: &str| Invalid(vec![FieldError { field: "current_password".into(), message: message.into() }]);
        let Some(current) = current.filter(|c| !c.is_empty()) else {
            return Err(wrong("give your current password to change it").into());
        };
        let login = format!("{}@{}", user.extension, domain.name);
        match self.password_login(&login, current, None).await {
            Ok(_) => Ok(Some(*token_id)),
            Err(AppError::Unauthorized(_)) => Err(wrong("this is not your current password").into()),
            Err(other) => Err(other),
        }
    }
}

/// Users see themselves, and managers the users they may list.
fn can_see(access: &crate::authz::Access<'_>, user: &User) -> bool {
    access.is_user(user)
        || match access.user_listing() {
            Some(UserListing::All) => true,
            Some(UserListing::Site(site)) => site == user.site,
            Some(UserListing::Agents) => user.scope == Scope::CallCenterAgent,
            None => false,
        }
}

fn apply(user: &mut User, patch: &UserPatch) {
    let pairs = [
        (&mut user.first_name, &patch.first_name),
        (&mut user.last_name, &patch.last_name),
        (&mut user.email, &patch.email),
        (&mut user.department, &patch.department),
        (&mut user.site, &patch.site),
    ];
    for (field, value) in pairs {
        if let Some(value) = value {
            field.clone_from(value);
        }
    }
    if let Some(scope) = patch.scope {
        user.scope = scope;
    }
    if let Some(listed) = patch.listed {
        user.listed = listed;
    }
}
