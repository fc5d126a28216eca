//! Where gpaudit asks for a token, decided without I/O: the server's own
//! `/admin/generateToken`, or the portal's `sharing/rest/generateToken` on a
//! site federated with a portal (from `portal_url`, or discovered in the
//! server's `/rest/info`); which URLs may carry a password at all; how the
//! token answer and a web tier that wants IWA or PKI are recognised. The
//! HTTP calls live in `client`.

use super::AdminError;
use serde_json::Value;

/// Where tokens come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenSource {
    /// `<server>/admin/generateToken`: the primary site administrator or a
    /// built-in account of a site that is not federated.
    Server { url: String },
    /// `<portal>/sharing/rest/generateToken` with `client=referer`; the
    /// token is then sent to the server with the same Referer, as Esri's own
    /// clients do.
    Portal {
        url: String,
        portal: String,
        /// Found in `/rest/info` rather than given: if the portal refuses
        /// the account, the server's own endpoint is tried (the primary site
        /// administrator of a federated site signs in there).
        discovered: bool,
    },
}

/// Refuse URLs that would leak: credentials or a query in the URL itself,
/// and plain `http://` to anything but this machine (the password and token
/// would cross the network in clear text) unless `insecure` allows it.
pub(super) fn check_url(what: &str, text: &str, insecure: bool) -> Result<url::Url, AdminError> {
    let url = url::Url::parse(text)
        .map_err(|e| AdminError::Config(format!("{what} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(AdminError::Config(format!(
            "{what} must not carry a user name, password or query; use username and password_env"
        )));
    }
    let loopback = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback || insecure => Ok(url),
        "http" => Err(AdminError::Config(format!(
            "{}: plain http would send the password and token in clear text; use https{}",
            crate::redact::text(text),
            if what.contains("portal") {
                ""
            } else {
                " (or --insecure, knowing the risk)"
            }
        ))),
        other => Err(AdminError::Config(format!(
            "{what}: unsupported scheme `{other}`"
        ))),
    }
}

/// `https://portal.example.com/portal` → its `sharing/rest/generateToken`.
pub(super) fn portal_token_url(portal: &str) -> String {
    let base = portal.trim_end_matches('/');
    let base = base
        .strip_suffix("/sharing/rest/generateToken")
        .or_else(|| base.strip_suffix("/sharing/rest"))
        .or_else(|| base.strip_suffix("/sharing"))
        .unwrap_or(base);
    format!("{base}/sharing/rest/generateToken")
}

/// What `/rest/info` says about sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Discovery {
    /// Tokens from the server itself (or nothing said).
    Standalone,
    /// Federated: `authInfo.tokenServicesUrl` is the portal's generateToken.
    Federated { token_url: String, portal: String },
    /// `isTokenBasedSecurity: false`: the web tier signs users in.
    WebTier,
}

/// Read `/rest/info`: a `tokenServicesUrl` outside the server (absolute, as
/// 11.x gives it) or an `owningSystemUrl` means a portal issues the tokens.
pub(super) fn discover(info: &Value, server_base: &str) -> Discovery {
    let auth = info.get("authInfo");
    if auth
        .and_then(|a| a.get("isTokenBasedSecurity"))
        .and_then(Value::as_bool)
        == Some(false)
    {
        return Discovery::WebTier;
    }
    let token_url = auth
        .and_then(|a| a.get("tokenServicesUrl"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let owner = info
        .get("owningSystemUrl")
        .and_then(Value::as_str)
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty());
    let server_base = server_base.trim_end_matches('/').to_ascii_lowercase();
    let outside = |u: &str| {
        !u.to_ascii_lowercase()
            .starts_with(&format!("{server_base}/"))
    };
    match (token_url.filter(|u| outside(u)), owner) {
        (Some(url), owner) => Discovery::Federated {
            token_url: url.to_string(),
            portal: owner.map(str::to_string).unwrap_or_else(|| {
                url.split("/sharing/")
                    .next()
                    .unwrap_or(url)
                    .trim_end_matches('/')
                    .to_string()
            }),
        },
        (None, Some(owner)) => Discovery::Federated {
            token_url: portal_token_url(owner),
            portal: owner.to_string(),
        },
        (None, None) => Discovery::Standalone,
    }
}

/// A web tier that answers 401 with `WWW-Authenticate` wants a sign-in
/// gpaudit does not do.
pub(super) fn web_tier_from_challenge(url: &str, challenge: &str) -> AdminError {
    let lower = challenge.to_ascii_lowercase();
    let kind =
        if lower.contains("negotiate") || lower.contains("ntlm") || lower.contains("kerberos") {
            "Integrated Windows Authentication (IWA)"
        } else {
            "HTTP authentication at the web adaptor"
        };
    AdminError::Config(format!(
        "{}: the site's web tier asks for {kind} (WWW-Authenticate: {}); gpaudit signs in only with ArcGIS tokens: use the server's own URL (https://<machine>:6443/arcgis) or an account of the portal or the site's built-in store",
        crate::redact::text(url),
        challenge.split(',').next().unwrap_or(challenge).trim()
    ))
}

/// A TLS failure that means the server wants a client certificate (PKI).
pub(super) fn is_pki_refusal(transport_message: &str) -> bool {
    let lower = transport_message.to_ascii_lowercase();
    lower.contains("certificaterequired") || lower.contains("certificate required")
}

pub(super) const PKI_MESSAGE: &str = "the site's web tier asks for a client certificate (PKI); gpaudit signs in only with ArcGIS tokens: use the server's own URL (https://<machine>:6443/arcgis) or an account of the portal or the site's built-in store";

/// `expires` of a token answer: milliseconds, as a number or (11.x's
/// `/admin/generateToken`) a string.
pub(super) fn expires_ms(answer: &Value) -> Option<i64> {
    answer.get("expires").and_then(|e| {
        e.as_i64()
            .or_else(|| e.as_f64().map(|f| f as i64))
            .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
    })
}

/// The code of an error answer without one, from its message: ArcGIS sends
/// "Invalid token." or "Token Required." without a `code` at times.
pub(super) fn infer_code(messages: &[String]) -> Option<i64> {
    let text = messages.join(" ").to_ascii_lowercase();
    if text.contains("invalid token")
        || text.contains("token expired")
        || text.contains("token has expired")
    {
        Some(498)
    } else if text.contains("token required") {
        Some(499)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_portal_token_service_in_rest_info_means_federated() {
        let info = json!({"owningSystemUrl": "https://portal.example.com/portal",
            "authInfo": {"isTokenBasedSecurity": true,
              "tokenServicesUrl": "https://portal.example.com/portal/sharing/rest/generateToken"}});
        assert_eq!(
            discover(&info, "https://gis.example.com:6443/arcgis"),
            Discovery::Federated {
                token_url: "https://portal.example.com/portal/sharing/rest/generateToken".into(),
                portal: "https://portal.example.com/portal".into(),
            }
        );
        let own = json!({"authInfo": {"isTokenBasedSecurity": true,
            "tokenServicesUrl": "https://gis.example.com:6443/arcgis/tokens/"}});
        assert_eq!(
            discover(&own, "https://gis.example.com:6443/arcgis"),
            Discovery::Standalone
        );
        // A relative URL (as old stand-ins gave) names no portal.
        let relative = json!({"authInfo": {"tokenServicesUrl": "/arcgis/tokens/"}});
        assert_eq!(
            discover(&relative, "https://gis.example.com:6443/arcgis"),
            Discovery::Standalone
        );
        let web = json!({"authInfo": {"isTokenBasedSecurity": false}});
        assert_eq!(discover(&web, "https://x/arcgis"), Discovery::WebTier);
    }

    #[test]
    fn expires_may_be_a_string_and_token_errors_may_have_no_code() {
        assert_eq!(
            expires_ms(&json!({"expires": "1733059200000"})),
            Some(1_733_059_200_000)
        );
        assert_eq!(
            expires_ms(&json!({"expires": 1_733_059_200_000_i64})),
            Some(1_733_059_200_000)
        );
        assert_eq!(infer_code(&["Invalid token.".into()]), Some(498));
        assert_eq!(infer_code(&["Token Required.".into()]), Some(499));
        assert_eq!(infer_code(&["Failed to start.".into()]), None);
    }

    #[test]
    fn portal_urls_are_https_unless_on_this_machine() {
        assert!(check_url("portal_url", "http://portal.example.com/portal", false).is_err());
        assert!(check_url("portal_url", "http://127.0.0.1:7443/portal", false).is_ok());
        assert_eq!(
            portal_token_url("https://p.example.com/portal/"),
            "https://p.example.com/portal/sharing/rest/generateToken"
        );
    }
}
