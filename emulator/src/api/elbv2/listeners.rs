//! CreateListener, DescribeListeners, ModifyListener, DeleteListener and the
//! listener attributes.
//!
//! A listener with `Port=P` is a real socket on `config.listener_bind`, at
//! `config.listener_port(P)` (privileged ports are offset). The socket is
//! bound through the data plane before the listener is stored, so a port in
//! use fails the request.

use std::net::SocketAddr;

use crate::domain::elbv2::{
    arns, listener_attributes, validate, Action, Elbv2Error, Listener, Rule,
    LISTENERS_PER_LOAD_BALANCER,
};
use crate::protocol::query::{Params, QueryError};

use super::{decode, encode, page, Cx, Output, Result};

const PROTOCOLS: &[&str] = &[
    "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC",
];

/// Listener protocols: HTTP only. HTTPS would need TLS termination.
fn protocol(value: &str) -> Result<String> {
    decode::one_of("protocol", value, PROTOCOLS)?;
    match value {
        "HTTP" => Ok(value.into()),
        "HTTPS" => Err(Elbv2Error::UnsupportedProtocol(
            "HTTPS listeners are not supported: this emulator does not terminate TLS; use an HTTP listener".into(),
        )
        .into()),
        other => Err(Elbv2Error::UnsupportedProtocol(format!(
            "Protocol '{other}' is not supported by Application Load Balancers; use HTTP"
        ))
        .into()),
    }
}

/// Binds the socket of a listener, mapping the error to a clear message.
fn open(cx: &Cx, listener_arn: &str, port: u16) -> Result<SocketAddr> {
    let config = cx.api.store.config();
    let addr = SocketAddr::new(config.listener_bind, config.listener_port(port));
    cx.api.dataplane.open_listener(listener_arn, addr).map_err(|e| {
        let mapped = if addr.port() != port {
            format!(" (port {port} is mapped to {} by the privileged-port offset)", addr.port())
        } else {
            String::new()
        };
        Elbv2Error::InvalidConfiguration(format!(
            "Cannot listen on port {port}: binding {addr} failed: {e}{mapped}. Another load balancer in this emulator or another process may be using the port"
        ))
    })?;
    Ok(addr)
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let lb_arn = p.required("LoadBalancerArn")?.to_string();
    let protocol = protocol(
        p.get("Protocol")
            .ok_or_else(|| QueryError::validation("A listener protocol must be specified"))?,
    )?;
    let port = p
        .integer::<i64>("Port")?
        .ok_or_else(|| QueryError::validation("A listener port must be specified"))?;
    let port = validate::port("port", port)?;
    let actions = decode::actions(p, "DefaultActions")?;
    let tags = decode::tags(p)?;

    // Validate against the current state, then bind outside the store lock.
    let existing = cx.api.store.read(|s| {
        let state = &s.elbv2;
        if !state.load_balancers.contains_key(&lb_arn) {
            return Err(super::load_balancers::not_found(&lb_arn));
        }
        let listeners = state.listeners_of(&lb_arn);
        if let Some(same_port) = listeners.iter().find(|l| l.port == port) {
            return if same_port.protocol == protocol && same_port.default_actions == actions {
                Ok(Some((*same_port).clone()))
            } else {
                Err(duplicate(port))
            };
        }
        if listeners.len() >= LISTENERS_PER_LOAD_BALANCER {
            return Err(Elbv2Error::TooManyListeners(format!(
                "A load balancer can have at most {LISTENERS_PER_LOAD_BALANCER} listeners"
            )));
        }
        state.check_forward_targets(&lb_arn, &actions)?;
        Ok(None)
    })?;
    if let Some(listener) = existing {
        return Ok(listeners_output(vec![listener], None));
    }

    let arn = arns::listener(&lb_arn);
    open(cx, &arn, port)?;
    let listener = Listener {
        arn: arn.clone(),
        load_balancer_arn: lb_arn.clone(),
        port,
        protocol,
        default_actions: actions.clone(),
        attributes: listener_attributes::defaults(),
    };
    let stored = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        // Re-check what may have changed while the socket was being bound.
        if !state.load_balancers.contains_key(&lb_arn) {
            return Err(super::load_balancers::not_found(&lb_arn));
        }
        if state.listeners_of(&lb_arn).iter().any(|l| l.port == port) {
            return Err(duplicate(port));
        }
        state.check_forward_targets(&lb_arn, &actions)?;
        let rule_arn = arns::rule(&arn);
        state.rules.insert(
            rule_arn.clone(),
            Rule {
                arn: rule_arn,
                listener_arn: arn.clone(),
                priority: None,
                conditions: Vec::new(),
                actions,
            },
        );
        state.listeners.insert(arn.clone(), listener.clone());
        if !tags.is_empty() {
            state.tags.insert(arn.clone(), tags);
        }
        Ok(())
    });
    if let Err(e) = stored {
        cx.api.dataplane.close_listener(&arn);
        return Err(e.into());
    }
    Ok(listeners_output(vec![listener], None))
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let lb_arn = p.get("LoadBalancerArn");
    let arns = p.list("ListenerArns")?;
    if lb_arn.is_some() != arns.is_empty() {
        return Err(QueryError::validation(
            "Specify either a load balancer ARN or one or more listener ARNs",
        ));
    }
    let found = cx.api.store.read(|s| {
        let state = &s.elbv2;
        if let Some(lb) = lb_arn {
            if !state.load_balancers.contains_key(lb) {
                return Err(super::load_balancers::not_found(lb));
            }
            return Ok(state.listeners_of(lb).into_iter().cloned().collect());
        }
        arns.iter()
            .map(|a| state.listeners.get(*a).cloned().ok_or_else(|| not_found(a)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let (items, next) = page(found, p)?;
    Ok(listeners_output(items, next))
}

/// Changes port, protocol or default actions. A new port moves the socket:
/// the data plane binds the new address before it closes the old one.
pub fn modify(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("ListenerArn")?.to_string();
    let protocol = p.get("Protocol").map(protocol).transpose()?;
    let port = p
        .integer::<i64>("Port")?
        .map(|port| validate::port("port", port))
        .transpose()?;
    let actions: Option<Vec<Action>> = if p.has("DefaultActions") {
        Some(decode::actions(p, "DefaultActions")?)
    } else {
        None
    };

    let current = cx.api.store.read(|s| {
        let state = &s.elbv2;
        let listener = state.listeners.get(&arn).ok_or_else(|| not_found(&arn))?;
        if let Some(port) = port.filter(|p| *p != listener.port) {
            if state
                .listeners_of(&listener.load_balancer_arn)
                .iter()
                .any(|l| l.port == port)
            {
                return Err(duplicate(port));
            }
        }
        if let Some(actions) = &actions {
            state.check_forward_targets(&listener.load_balancer_arn, actions)?;
        }
        Ok(listener.clone())
    })?;
    let moved = port.filter(|p| *p != current.port);
    if let Some(port) = moved {
        open(cx, &arn, port)?;
    }
    let updated = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        let lb_arn = state
            .listeners
            .get(&arn)
            .map(|l| l.load_balancer_arn.clone())
            .ok_or_else(|| not_found(&arn))?;
        if let Some(port) = moved {
            if state.listeners_of(&lb_arn).iter().any(|l| l.port == port) {
                return Err(duplicate(port));
            }
        }
        if let Some(actions) = &actions {
            state.check_forward_targets(&lb_arn, actions)?;
            state.set_default_actions(&arn, actions.clone());
        }
        let listener = state
            .listeners
            .get_mut(&arn)
            .ok_or_else(|| not_found(&arn))?;
        if let Some(port) = port {
            listener.port = port;
        }
        if let Some(protocol) = &protocol {
            listener.protocol = protocol.clone();
        }
        Ok(listener.clone())
    });
    match updated {
        Ok(listener) => Ok(listeners_output(vec![listener], None)),
        Err(e) => {
            if moved.is_some() {
                // Put the socket back where the stored listener says it is.
                let _ = open(cx, &arn, current.port);
            }
            Err(e.into())
        }
    }
}

/// Deletes a listener and its rules, and closes its socket.
pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("ListenerArn")?;
    cx.api
        .store
        .write(|s| s.elbv2.remove_listener(arn))
        .ok_or_else(|| not_found(arn))?;
    cx.api.dataplane.close_listener(arn);
    Ok(super::empty())
}

pub fn describe_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("ListenerArn")?;
    let attributes = cx.api.store.read(|s| {
        s.elbv2
            .listeners
            .get(arn)
            .map(|l| l.attributes.clone())
            .ok_or_else(|| not_found(arn))
    })?;
    Ok(super::attributes_output(attributes))
}

/// Validates every change first, so a rejected request changes nothing.
/// The data plane picks the new headers up with the next snapshot.
pub fn modify_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("ListenerArn")?;
    let changes = super::attribute_changes(p)?;
    let attributes = cx.api.store.write(|s| {
        let listener = s
            .elbv2
            .listeners
            .get_mut(arn)
            .ok_or_else(|| not_found(arn))?;
        listener.attributes = listener_attributes::modify(&listener.attributes, &changes)?;
        Ok::<_, Elbv2Error>(listener.attributes.clone())
    })?;
    Ok(super::attributes_output(attributes))
}

fn listeners_output(items: Vec<Listener>, next: Option<String>) -> Output {
    Box::new(move |w| {
        w.members("Listeners", &items, encode::listener)
            .opt_text("NextMarker", next);
    })
}

fn duplicate(port: u16) -> Elbv2Error {
    Elbv2Error::DuplicateListener(format!(
        "A listener already exists on port {port} of this load balancer"
    ))
}

pub fn not_found(arn: &str) -> Elbv2Error {
    Elbv2Error::ListenerNotFound(format!("Listener '{arn}' not found"))
}
