//! A model of one order's saga, checked exhaustively with the `stateright` model checker: every
//! interleaving of the stages' steps, the services' decisions, lost and slow answers, 409s,
//! crashes, give-ups, compensation and an operator's redrive, up to a bound on the faults.
//!
//! The model follows the protocol in `processors::saga` (docs/saga.md): a stage looks its
//! record up, calls its service under the call's key if there is none, and records the outcome
//! (the first outcome recorded stands); the service decides each key once, answers 409 while a
//! key is in progress and its stored answer after; a stage that gives up runs its
//! `dead_lettered` rules. The order's status is the real `processors::store::status_of` over the
//! events on the stream.
//!
//! What it checks, in every state reached:
//! - at most one effect of each kind (reservation, release, shipment, sale);
//! - once nothing is in flight, a terminal order is consistent with what the services decided:
//!   `completed` = one reservation, shipment and sale and no release; `rejected` = nothing;
//!   `released` = one reservation given back, nothing shipped or booked; `failed` = nothing held
//!   (every reservation released), or what it holds covered by a dead letter that an operator
//!   redrives (a sale not yet booked after the goods shipped; stock inventory could not release,
//!   its failure saying so; a compensation that failed for good; a shipment that may exist);
//! - an order left `reserved` with nothing in flight has a fulfilment dead letter waiting.
//!
//! What it cannot explore: a request delayed in the network until after a give-up (a request
//! here reaches the service at once or not at all); more than one order (orders share nothing
//! but the services, which key by order); the engine's batching and the materialiser's writes
//! (the status is folded from the events directly); and more faults than the bound.

use ingest::lifecycle::Step;
use processors::store::status_of;
use stateright::{Checker, Model, Property};

/// Faults the checker may inject in one run: crashes, lost answers, client timeouts.
const FAULTS: u8 = 5;
/// Failed attempts after which a stage gives up (10 in production; 2 reaches every give-up).
const MAX_ATTEMPTS: u8 = 2;
/// Operator redrives of a dead letter.
const REDRIVES: u8 = 2;

/// The four calls; each is one stage's reaction to one event.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Call {
    Reserve,
    Ship,
    Book,
    Release,
}

const CALLS: [Call; 4] = [Call::Reserve, Call::Ship, Call::Book, Call::Release];

impl Call {
    fn index(self) -> usize {
        self as usize
    }

    /// The event the stage reacts to; `None` for `order.placed`, always there.
    fn input(self) -> Option<Step> {
        match self {
            Self::Reserve => None,
            Self::Ship => Some(Step::InventoryReserved),
            Self::Book => Some(Step::FulfilmentRequested),
            Self::Release => Some(Step::FulfilmentFailed),
        }
    }

    /// The step an answer leads to.
    fn step(self, answer: Answer) -> Step {
        match (self, answer) {
            (Self::Reserve, Answer::Yes) => Step::InventoryReserved,
            (Self::Reserve, Answer::No) => Step::InventoryRejected,
            (Self::Ship, Answer::Yes) => Step::FulfilmentRequested,
            (Self::Ship, Answer::No) => Step::FulfilmentFailed,
            (Self::Book, _) => Step::Accounted,
            // 404 on a release: nothing was reserved, which counts as released.
            (Self::Release, _) => Step::InventoryReleased,
        }
    }

    /// What the service may decide for a new key (a release decides by the ledger).
    fn decisions(self) -> &'static [Answer] {
        match self {
            Self::Reserve | Self::Ship => &[Answer::Yes, Answer::No],
            Self::Book | Self::Release => &[Answer::Yes],
        }
    }
}

/// A decision: the effect done (reserved, shipped, booked, released), or refused.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
}

/// What the service knows of a key.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Key {
    Unused,
    InProgress,
    Done(Answer),
}

/// A stage's attempt at its call.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Attempt {
    Idle,
    /// The request is at the service.
    Sent,
    /// The answer arrived.
    Got(Answer),
    /// The input is handled (checkpointed), or given up with nothing to emit.
    Done,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct State {
    /// The lifecycle events on the stream (their ids make repeats one event).
    events: Vec<Step>,
    keys: [Key; 4],
    effects: [u8; 4],
    /// Each stage's idempotency record of its call.
    records: [Option<Step>; 4],
    attempts: [Attempt; 4],
    failures: [u8; 4],
    /// A dead letter waiting for an operator.
    dead_letter: [bool; 4],
    /// Inventory gave up and could not release: its failure says stock may be held.
    stock_may_be_held: bool,
    /// The environment's side: inventory's release at its give-up could not be made (the
    /// service unreachable, or the reservation still in progress).
    release_refused: bool,
    faults: u8,
    redrives: u8,
}

impl State {
    fn has(&self, step: Step) -> bool {
        self.events.contains(&step)
    }

    fn emit(&mut self, step: Step) {
        if !self.has(step) {
            self.events.push(step);
            self.events.sort_by_key(|s| s.name());
        }
    }

    fn reacts(&self, call: Call) -> bool {
        call.input().is_none_or(|input| self.has(input))
    }

    /// The order's status: the highest-ranked step's, as the materialiser keeps it.
    fn status(&self) -> &'static str {
        self.events
            .iter()
            .map(|step| status_of(*step))
            .max_by_key(|(_, rank)| *rank)
            .map_or("placed", |(status, _)| status)
    }

    /// Nothing in flight: every stage that has an input has handled or given it up, and the
    /// services have decided every key.
    fn quiet(&self) -> bool {
        CALLS
            .iter()
            .all(|&call| !self.reacts(call) || self.attempts[call.index()] == Attempt::Done)
            && !self.keys.contains(&Key::InProgress)
    }

    fn effect(&self, call: Call) -> u8 {
        self.effects[call.index()]
    }

    /// Records `step` for `call` unless one is recorded; the one that stands.
    fn record(&mut self, call: Call, step: Step) -> Step {
        *self.records[call.index()].get_or_insert(step)
    }

    /// The service takes a request for `call`: a new key goes in progress; the answer for a
    /// decided one; `None` for 409 (in progress).
    fn request(&mut self, call: Call) -> Option<Option<Answer>> {
        let i = call.index();
        match self.keys[i] {
            Key::Unused => {
                self.keys[i] = Key::InProgress;
                Some(None)
            }
            Key::InProgress => None,
            Key::Done(answer) => Some(Some(answer)),
        }
    }

    /// A transient failure of `call`'s attempt: counted; delivered again, or given up.
    fn fail(&mut self, call: Call) {
        let i = call.index();
        self.failures[i] += 1;
        self.attempts[i] = Attempt::Idle;
    }

    /// The stage's `dead_lettered` rules for `call`.
    fn give_up(&mut self, call: Call, refused: bool, release_reachable: bool) {
        let i = call.index();
        self.attempts[i] = Attempt::Done;
        self.dead_letter[i] = true;
        if let Some(step) = self.records[i] {
            self.emit(step);
            return;
        }
        match call {
            Call::Reserve => {
                self.release_refused =
                    !release_reachable || self.keys[Call::Reserve.index()] == Key::InProgress;
                // Release under the release key; 409 while the reservation is in progress.
                let released =
                    release_reachable && self.keys[Call::Reserve.index()] != Key::InProgress && {
                        let r = Call::Release.index();
                        if self.keys[r] == Key::Unused {
                            let reserved = self.effect(Call::Reserve) > 0;
                            self.keys[r] =
                                Key::Done(if reserved { Answer::Yes } else { Answer::No });
                            if reserved {
                                self.effects[r] += 1;
                            }
                        }
                        true
                    };
                if released {
                    let step = self.record(call, Step::InventoryFailed);
                    self.emit(step);
                } else {
                    self.stock_may_be_held = true;
                    self.emit(Step::InventoryFailed);
                }
            }
            Call::Ship if refused => {
                let step = self.record(call, Step::FulfilmentFailed);
                self.emit(step);
            }
            // A shipment may exist: nothing emitted, the order waits for a redrive.
            Call::Ship => {}
            Call::Book => self.emit(Step::AccountingFailed),
            Call::Release => self.emit(Step::InventoryFailed),
        }
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Action {
    /// The stage looks its record up: emits it, or sends the request.
    Attempt(Call),
    /// The service decides a key in progress.
    Decide(Call, Answer),
    /// The answer reaches the stage.
    Answer(Call),
    /// The answer is lost after the service decided (a 500, a dropped connection).
    Lose(Call),
    /// The client times out while the service still works on it.
    TimeOut(Call),
    /// The stage's process dies; its attempt is gone, its record stays.
    Crash(Call),
    /// The engine gives up after the attempt limit; the release reaches the service or not.
    GiveUp(Call, bool),
    /// An operator redrives the dead letter once the service is back.
    Redrive(Call),
}

struct Saga;

impl Model for Saga {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State {
            events: Vec::new(),
            keys: [Key::Unused; 4],
            effects: [0; 4],
            records: [None; 4],
            attempts: [Attempt::Idle; 4],
            failures: [0; 4],
            dead_letter: [false; 4],
            stock_may_be_held: false,
            release_refused: false,
            faults: FAULTS,
            redrives: REDRIVES,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for call in CALLS {
            let i = call.index();
            if state.keys[i] == Key::InProgress {
                for &answer in call.decisions() {
                    actions.push(Action::Decide(call, answer));
                }
            }
            if !state.reacts(call) {
                continue;
            }
            match state.attempts[i] {
                Attempt::Idle if state.failures[i] >= MAX_ATTEMPTS => {
                    actions.push(Action::GiveUp(call, true));
                    if call == Call::Reserve {
                        actions.push(Action::GiveUp(call, false));
                    }
                }
                Attempt::Idle => actions.push(Action::Attempt(call)),
                Attempt::Sent => {
                    if matches!(state.keys[i], Key::Done(_)) {
                        actions.push(Action::Answer(call));
                        if state.faults > 0 {
                            actions.push(Action::Lose(call));
                        }
                    } else if state.faults > 0 {
                        actions.push(Action::TimeOut(call));
                    }
                }
                Attempt::Got(_) => actions.push(Action::Answer(call)),
                Attempt::Done => {
                    if state.dead_letter[i] && state.redrives > 0 {
                        actions.push(Action::Redrive(call));
                    }
                }
            }
            if matches!(state.attempts[i], Attempt::Sent | Attempt::Got(_)) && state.faults > 0 {
                actions.push(Action::Crash(call));
            }
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Attempt(call) => {
                let i = call.index();
                if let Some(step) = state.records[i] {
                    state.emit(step);
                    state.attempts[i] = Attempt::Done;
                } else {
                    match state.request(call) {
                        // 409: a transient failure of this attempt.
                        None => state.fail(call),
                        Some(None) => state.attempts[i] = Attempt::Sent,
                        Some(Some(answer)) => state.attempts[i] = Attempt::Got(answer),
                    }
                }
            }
            Action::Decide(call, answer) => {
                let i = call.index();
                // A release decides by the ledger: released if anything was reserved, else 404.
                let answer = if call == Call::Release {
                    if state.effect(Call::Reserve) > state.effect(Call::Release) {
                        Answer::Yes
                    } else {
                        Answer::No
                    }
                } else {
                    answer
                };
                state.keys[i] = Key::Done(answer);
                if answer == Answer::Yes {
                    state.effects[i] += 1;
                }
            }
            Action::Answer(call) => {
                let i = call.index();
                let answer = match (state.attempts[i], state.keys[i]) {
                    (Attempt::Got(answer), _) | (Attempt::Sent, Key::Done(answer)) => answer,
                    _ => return None,
                };
                if call == Call::Ship && answer == Answer::No {
                    // The service's refusal: dead-lettered at once, the failure kept.
                    state.give_up(call, true, true);
                } else {
                    let step = state.record(call, call.step(answer));
                    state.emit(step);
                    state.attempts[i] = Attempt::Done;
                }
            }
            Action::Lose(call) | Action::TimeOut(call) => {
                state.faults -= 1;
                state.fail(call);
            }
            Action::Crash(call) => {
                state.faults -= 1;
                state.attempts[call.index()] = Attempt::Idle;
            }
            Action::GiveUp(call, release_reachable) => {
                state.give_up(call, false, release_reachable);
            }
            Action::Redrive(call) => {
                let i = call.index();
                state.redrives -= 1;
                state.dead_letter[i] = false;
                state.failures[i] = 0;
                state.attempts[i] = Attempt::Idle;
                if call == Call::Reserve {
                    state.stock_may_be_held = false;
                }
            }
        }
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("at most one effect of each kind", |_, s: &State| {
                s.effects.iter().all(|&n| n <= 1)
            }),
            Property::always(
                "a quiet terminal order is what the services decided",
                |_, s: &State| {
                    if !s.quiet() {
                        return true;
                    }
                    let [reserved, shipped, booked, released] = s.effects;
                    let held = reserved > released;
                    let waiting = |call: Call| s.dead_letter[call.index()];
                    match s.status() {
                        "completed" => (reserved, shipped, booked, released) == (1, 1, 1, 0),
                        "rejected" => s.effects == [0; 4],
                        "released" => (reserved, shipped, booked, released) == (1, 0, 0, 1),
                        // Failed holding nothing; or what it holds is covered by a dead letter an
                        // operator redrives: the goods shipped and the sale not booked
                        // (accounting), stock that inventory could not release ("stock may be
                        // held"), a release that failed for good, or a shipment that may exist.
                        "failed" if shipped == 1 => {
                            released == 0 && (waiting(Call::Book) || waiting(Call::Ship))
                        }
                        "failed" => {
                            booked == 0
                                && (!held
                                    || (s.stock_may_be_held
                                        && s.release_refused
                                        && waiting(Call::Reserve))
                                    || waiting(Call::Release)
                                    || waiting(Call::Ship))
                        }
                        // A fulfilment give-up: a shipment may exist; a redrive finishes it.
                        "reserved" => {
                            waiting(Call::Ship) && (reserved, booked, released) == (1, 0, 0)
                        }
                        "placed" | "fulfilment_requested" => false,
                        _ => false,
                    }
                },
            ),
            Property::sometimes("completed after a fault", |_, s: &State| {
                s.quiet() && s.status() == "completed" && s.faults < FAULTS
            }),
            Property::sometimes("failed, its reservation released", |_, s: &State| {
                s.quiet() && s.status() == "failed" && s.effects == [1, 0, 0, 1]
            }),
            Property::sometimes("released after a refused shipment", |_, s: &State| {
                s.quiet() && s.status() == "released"
            }),
            Property::sometimes("rejected", |_, s: &State| {
                s.quiet() && s.status() == "rejected"
            }),
            Property::sometimes("waiting for a redrive with stock held", |_, s: &State| {
                s.quiet() && s.stock_may_be_held && s.effects[0] == 1
            }),
        ]
    }
}

#[test]
fn every_interleaving_of_one_orders_saga_keeps_its_invariants() {
    let checker = Saga.checker().spawn_bfs().join();
    eprintln!(
        "saga model: {} states, {} unique",
        checker.state_count(),
        checker.unique_state_count()
    );
    checker.assert_properties();
}
