package journey

// Definition is one journey as configured (JSON `journeys` of the gatehouse app; the
// Caddyfile's `journey <name> { step ... }`). Compile validates it.
type Definition struct {
	// Name is how clients ask for the journey (journey=<name> on /authorize) and its
	// self-service address (/journeys/<name>): 1-64 letters, digits, - and _.
	Name string `json:"name"`
	// Steps run in order from the first; branch and `next` jump by step ID.
	Steps []StepConfig `json:"steps"`
	// Clients are the client IDs that may run the journey (journey=<name> or their
	// default_journey); empty: every first-party client, and /journeys/<name> on the portal.
	// A journey with an auth_state unauthenticated step must list them: it acts on whatever
	// external_user_id a client pushes, so only the backends meant to may start it, and it
	// cannot start from the portal.
	Clients []string `json:"clients,omitempty"`
}

// Auth states of a step that reads or writes user data (the seed's "User Auth State").
const (
	// AuthAuthenticated (the default): the journey must hold an authentication of the user,
	// made in this journey (authenticate, create_user set_authenticated).
	AuthAuthenticated = "authenticated"
	// AuthUnauthenticated: the step acts on the user named by ExternalUserID, an expression
	// over the trusted parameters of a pushed authorization request (request.pushed.<name>).
	AuthUnauthenticated = "unauthenticated"
)

// StepConfig is one step. Which fields apply depends on Type; the others must be empty.
type StepConfig struct {
	// ID names the step (unique in the journey; the target of goto and next).
	ID string `json:"id"`
	// Type is the step type: identify, authenticate, create_user, collect, write_user,
	// branch, deny, complete, known_device, verify_email, verify_phone, register_passkey,
	// save_context, restore_context.
	Type string `json:"type"`
	// AuthState is "authenticated" (default) or "unauthenticated", for the steps that read
	// or write user data.
	AuthState string `json:"auth_state,omitempty"`
	// ExternalUserID is, with auth_state unauthenticated, the CEL expression giving the
	// user's external_user_id; it may read only request.pushed.<name>.
	ExternalUserID string `json:"external_user_id,omitempty"`
	// Next is the step to go to after this one (default: the following step).
	Next string `json:"next,omitempty"`

	// Identifier (identify) is what the user is asked for: email, phone or username.
	Identifier string `json:"identifier,omitempty"`
	// Methods (authenticate) are the login methods accepted: password, passkey, email_otp,
	// magic_link, sms_otp, social (default: any).
	Methods []string `json:"methods,omitempty"`
	// SecondFactor (authenticate) requires a multi-factor login (acr aal2).
	SecondFactor bool `json:"second_factor,omitempty"`
	// SetAuthenticated (create_user) makes the new user the journey's authenticated user.
	SetAuthenticated bool `json:"set_authenticated,omitempty"`
	// Fields (collect) are the form's fields.
	Fields []FieldConfig `json:"fields,omitempty"`
	// Set (write_user; create_user) maps a user field (fname, mname, lname, username,
	// phone_number, birthday, picture, organization, external_user_id, custom_data,
	// custom_app_data; for create_user also email) to a CEL expression computing it.
	Set map[string]string `json:"set,omitempty"`
	// Branches (branch) are tried in order; the first whose condition holds is taken, else
	// the journey goes on to the next step.
	Branches []BranchConfig `json:"branches,omitempty"`
	// Message (deny) is shown to the user.
	Message string `json:"message,omitempty"`
	// Handle (restore_context) is the CEL expression giving the handle save_context made in
	// an earlier journey (default request.pushed.journey_context); like external_user_id it
	// may read only request.pushed.<name>: the client hands the handle back in a pushed
	// authorization request, never through the browser.
	Handle string `json:"handle,omitempty"`
	// AllowOTP (approve) lets the user approve with a code sent to a verified email address
	// or phone number instead of a passkey (also allowed when the client's approval allows
	// otp).
	AllowOTP bool `json:"allow_otp,omitempty"`
	// ReturnTo (complete) is where a journey not started by an OIDC client ends: a local
	// path of the portal or of a protected site on the same host (default: the account
	// page).
	ReturnTo string `json:"return_to,omitempty"`
}

// FieldConfig is one field of a collect form.
type FieldConfig struct {
	// Name is the key of the value in `journey` (journey.<name>): letters, digits, _.
	Name string `json:"name"`
	// Type is text (default), email, phone, date, select or checkbox.
	Type string `json:"type,omitempty"`
	// Label is shown next to the field (default: the name).
	Label    string `json:"label,omitempty"`
	Required bool   `json:"required,omitempty"`
	// Options are the choices of a select.
	Options []string `json:"options,omitempty"`
	// MinLength and MaxLength bound a text field (MaxLength default 256, at most 4096).
	MinLength int `json:"min_length,omitempty"`
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is a regular expression (RE2) a text value must match whole.
	Pattern string `json:"pattern,omitempty"`
}

// BranchConfig is one `if <expr> goto <step>` of a branch step.
type BranchConfig struct {
	If   string `json:"if"`
	Goto string `json:"goto"`
}
