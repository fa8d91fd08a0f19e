//! Consent: what Vitrina may keep and send, as a small state machine.
//!
//! The shop picks a [`Mode`]; the shopper (through the shop's consent banner or
//! Vitrina's own panel) moves the [`State`]; the browser's Global Privacy Control
//! and Do Not Track signals are honoured. Every decision — may we write to
//! storage, may we send, what may an event carry, may events wait for a later
//! consent — is a pure function of these, answered here and nowhere else.
//!
//! The rules, in one place:
//!
//! | mode      | before a choice            | granted         | denied          |
//! |-----------|----------------------------|-----------------|-----------------|
//! | opt-in    | in memory, nothing sent    | keep, send      | in memory, none |
//! | opt-out   | keep, send                 | keep, send      | in memory, none |
//! | anonymous | keep, send id-free signals | same            | keep, none sent |
//!
//! With GPC or DNT on, nothing is sent unless the shopper grants consent in
//! Vitrina's own panel: a consent manager's "granted" does not override the
//! browser signal, an explicit choice of the shopper does. Withdrawing consent
//! stops sending at once and empties the outbox.

/// How the shop asks for consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing is kept or sent before the shopper agrees.
    OptIn,
    /// On until the shopper says no. The default, so the widget works when
    /// dropped in; shops that need prior consent (the EU, for tracking) set
    /// `opt-in` and wire their consent banner to `vitrina.consent(...)`.
    #[default]
    OptOut,
    /// Personalization on the device; only id-free signals leave it.
    Anonymous,
}

impl Mode {
    /// Parses `opt-in`, `opt-out` or `anonymous`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "opt-in" => Some(Mode::OptIn),
            "opt-out" => Some(Mode::OptOut),
            "anonymous" => Some(Mode::Anonymous),
            _ => None,
        }
    }
}

/// The shopper's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum State {
    /// No choice yet.
    #[default]
    Pending,
    /// Agreed, through the shop's consent manager.
    Granted,
    /// Agreed in Vitrina's own panel: overrides GPC / DNT.
    GrantedByShopper,
    /// Refused (or withdrew).
    Denied,
}

impl State {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Granted => "granted",
            State::GrantedByShopper => "granted-by-shopper",
            State::Denied => "denied",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "pending" => Some(State::Pending),
            "granted" => Some(State::Granted),
            "granted-by-shopper" => Some(State::GrantedByShopper),
            "denied" => Some(State::Denied),
            _ => None,
        }
    }
}

/// Consent as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Consent {
    /// The shop's mode.
    pub mode: Mode,
    /// The shopper's choice.
    pub state: State,
    /// The browser says "do not sell or share" (Global Privacy Control) or
    /// "do not track".
    pub browser_signal: bool,
}

impl Consent {
    /// Whether Vitrina may write to the device's storage. (The consent choice
    /// itself is always remembered: it is what makes a refusal stick.)
    pub fn may_persist(&self) -> bool {
        match self.mode {
            Mode::OptIn => matches!(self.state, State::Granted | State::GrantedByShopper),
            Mode::OptOut => self.state != State::Denied,
            Mode::Anonymous => true,
        }
    }

    /// Whether events may leave the browser.
    pub fn may_send(&self) -> bool {
        let wanted = match self.mode {
            Mode::OptIn => matches!(self.state, State::Granted | State::GrantedByShopper),
            Mode::OptOut | Mode::Anonymous => self.state != State::Denied,
        };
        wanted && (!self.browser_signal || self.state == State::GrantedByShopper)
    }

    /// Whether events that may not be sent now should still be kept for a later
    /// consent. Never: an event waits only when the shopper has agreed to sending.
    pub fn may_queue(&self) -> bool {
        self.may_send()
    }

    /// Whether what is sent must carry no client or session id (anonymous mode).
    pub fn id_free(&self) -> bool {
        self.mode == Mode::Anonymous
    }

    /// Applies a choice; returns true when sending stops (the outbox must be
    /// emptied at once).
    pub fn set(&mut self, state: State) -> bool {
        let was = self.may_send();
        // A consent manager replays its "granted" on every page: that must not
        // undo the shopper's own, stronger choice made in the panel.
        if !(state == State::Granted && self.state == State::GrantedByShopper) {
            self.state = state;
        }
        was && !self.may_send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(mode: Mode, state: State, signal: bool) -> Consent {
        Consent { mode, state, browser_signal: signal }
    }

    #[test]
    fn the_table() {
        use Mode::*;
        use State::*;
        // (mode, state, gpc/dnt) -> (persist, send)
        let cases = [
            (OptIn, Pending, false, false, false),
            (OptIn, Granted, false, true, true),
            (OptIn, Denied, false, false, false),
            (OptOut, Pending, false, true, true),
            (OptOut, Denied, false, false, false),
            (Anonymous, Pending, false, true, true),
            (Anonymous, Denied, false, true, false),
            // GPC / DNT: sending off unless the shopper chose in the panel.
            (OptOut, Pending, true, true, false),
            (OptIn, Granted, true, true, false),
            (OptIn, GrantedByShopper, true, true, true),
            (OptOut, GrantedByShopper, true, true, true),
            (Anonymous, Pending, true, true, false),
        ];
        for (mode, state, signal, persist, send) in cases {
            let x = c(mode, state, signal);
            assert_eq!((x.may_persist(), x.may_send()), (persist, send), "{x:?}");
            assert_eq!(x.may_queue(), x.may_send());
        }
    }

    #[test]
    fn withdrawing_stops_sending_at_once() {
        let mut x = c(Mode::OptIn, State::Granted, false);
        assert!(x.set(State::Denied));
        assert!(!x.set(State::Denied));
        assert!(!x.set(State::Granted));
        let mut z = c(Mode::OptOut, State::GrantedByShopper, true);
        z.set(State::Granted);
        assert_eq!(z.state, State::GrantedByShopper, "a replayed banner grant keeps the shopper's choice");
        assert!(z.set(State::Denied), "a refusal always wins");
        let mut y = c(Mode::OptOut, State::Pending, false);
        assert!(y.set(State::Denied));
        for s in [State::Pending, State::Granted, State::GrantedByShopper, State::Denied] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(Mode::parse("opt-out"), Some(Mode::OptOut));
        assert_eq!(Mode::parse("yes"), None);
    }
}
