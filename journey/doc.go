// Package journey is the journey engine: configurable identity workflows made of steps
// (identify, authenticate, create_user, collect, write_user, branch, deny, complete,
// known_device, verify_email, verify_phone, register_passkey, save_context,
// restore_context, approve), each step that reads or writes user data declaring the authentication
// state it expects (the seed's "User Auth State").
//
// # What it owns
//
//   - Definitions (config.go: the JSON `journeys` of the gatehouse app) and their
//     compilation (compile.go): every problem is reported naming the journey and the step —
//     an unknown or not yet available step type, a goto/next to a missing step, an
//     expression that does not compile or has the wrong type, an external_user_id reading
//     anything but request.pushed.<name>, and a step that touches user data placed where
//     some path from the start reaches it without an authenticating step (a "must"
//     data-flow analysis over the step graph).
//   - Expressions (expr.go): CEL over a documented context (below), type-checked at load,
//     evaluated with a runtime cost limit (cel.CostLimit) and a wall-time bound, so that an
//     expression that loops or allocates without bound ends the journey with an error
//     instead of hanging it.
//   - State (state.go): on the server, a store.OneTimeCode of purpose "journey" whose ID is
//     the hash of the browser's journey cookie secret, bound to the browser's CSRF cookie and
//     to the client, with an expiry and a step counter. Every answer names the step and
//     counter it answers; anything else is refused (no skipping, replay or going back), and
//     a finished journey is deleted.
//   - The engine (engine.go): runs steps until one needs the browser, enforces auth_state
//     before each step that touches user data, records audit.JourneyStep for each
//     transition.
//
// # The expression context
//
//	user     the user's fields by claim name (email, fname, custom_data, ...); {} when the
//	         step does not act on a user
//	request  client_id, scopes, acr_values, query (browser-supplied), pushed (the
//	         parameters of a pushed authorization request: trusted input of the client)
//	journey  values collected so far (identify: journey.email/phone/username; collect:
//	         journey.<field>)
//	device   known (bool), user_agent
//	now      timestamp
//
// # The Step interface (step.go): adding a step type
//
// A step type is one file: a Factory registered with Register in init. Factory.New compiles
// the step's StepConfig (its expressions through the Env) into a Step and declares its
// Traits: TouchesUser (reads or writes user data: auth_state applies, the engine hands it
// Run.User and refuses to run it without one), Authenticates (after it the journey holds an
// authenticated user), Terminal (no successor). Step.Enter runs on arrival; it returns
// Next (optionally Goto a step), Prompt (a Page: a form, or a hosted login with methods),
// Deny or Complete. Step.Submit handles the browser's answer to the prompt (Input.Form,
// and Run.Login for a return from the hosted login). A step keeps what it learned in
// Run.State (Values, UserID, the authentication facts). A step needing new input from the
// request (such as the transaction of an `approve` step) reads Run.Request; one needing a
// hosted page of its own gets a Page field and a template in handlers/journey.
//
// Step types of the second set (their own files): known_device (journey/device's signed
// cookie; device.known), verify_email and verify_phone (account.Verification's codes),
// register_passkey (the account page's registration), save_context and restore_context
// (a single-use, short-lived handle bound to the client, a store.OneTimeCode of purpose
// journey_context), and approve (step_approve.go): the transaction of the client's pushed
// request (Request.Transaction) approved through package approval's Approver — a passkey
// ceremony (Engine.BeginApproval, then the answer with the assertion) whose challenge
// carries the transaction's hash and whose binding is the journey's ID and the step, or a
// code where allowed; State.ApprovedBy then says how, and the handler's code carries the
// transaction.
//
// # What it delegates
//
// Passwords, passkeys, codes and social login are the hosted login's (handlers/login/...):
// authenticate sends the browser there and checks the login that comes back. Users are
// created and written through account.Accounts. The HTTP side — pages, cookies, CSRF,
// issuing the authorization code at complete — is handlers/journey.
package journey
