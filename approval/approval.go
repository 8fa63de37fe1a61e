package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/account/input"
)

// Param is the authorization request parameter that carries the transaction (JSON).
const Param = "approval_data"

// MaxSize bounds the approval_data parameter.
const MaxSize = 2048

// Transaction is the transaction a user approves (the ID token's approval_data).
type Transaction struct {
	// Type is the kind of transaction ("payment", "transfer", ...): 1-32 of a-z 0-9 _ -.
	Type string `json:"type"`
	// Amount is a non-negative decimal string: up to 15 integer digits without a leading
	// zero, and up to 6 decimals ("12.50"; never a JSON number, which loses precision).
	Amount string `json:"amount"`
	// Currency is an ISO 4217 alphabetic code: three capital letters ("EUR").
	Currency string `json:"currency"`
	// Payee is who is paid, as the user should recognise it: 1-140 characters of text.
	Payee string `json:"payee"`
	// PaymentMethod is how it is paid ("card •••• 4242"): at most 64 characters, optional.
	PaymentMethod string `json:"payment_method,omitempty"`
}

var (
	typeRe     = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	amountRe   = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ErrInvalid starts every validation error's message.
var ErrInvalid = errors.New("approval_data")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// Parse reads and validates the approval_data parameter: one JSON object whose members are
// strings, each of the known fields at most once (exact names, no others), then the rules
// of each field (Transaction).
func Parse(raw string) (Transaction, error) {
	var tx Transaction
	if len(raw) == 0 || len(raw) > MaxSize {
		return tx, invalid("must be a JSON object of at most %d bytes", MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return tx, invalid("must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return tx, invalid("is not valid JSON")
		}
		k, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return tx, invalid("is not valid JSON")
		}
		v, ok := vt.(string)
		if !ok {
			return tx, invalid("member %q must be a string", input.Sanitize(k))
		}
		if seen[k] {
			return tx, invalid("member %q is repeated", input.Sanitize(k))
		}
		seen[k] = true
		switch k {
		case "type":
			tx.Type = v
		case "amount":
			tx.Amount = v
		case "currency":
			tx.Currency = v
		case "payee":
			tx.Payee = v
		case "payment_method":
			tx.PaymentMethod = v
		default:
			return tx, invalid("unknown member %q (known: type, amount, currency, payee, payment_method)", input.Sanitize(k))
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return tx, invalid("is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return tx, invalid("must hold one JSON object and nothing after it")
	}
	return tx, tx.Validate()
}

// Validate checks each field's rules.
func (tx Transaction) Validate() error {
	switch {
	case !typeRe.MatchString(tx.Type):
		return invalid("type must be 1-32 of a-z, 0-9, _ and - (such as payment)")
	case !amountRe.MatchString(tx.Amount):
		return invalid("amount must be a decimal string such as \"12.50\" (up to 15 digits, 6 decimals)")
	case !currencyRe.MatchString(tx.Currency):
		return invalid("currency must be an ISO 4217 code of three capital letters, such as EUR")
	case tx.Payee == "" || utf8.RuneCountInString(tx.Payee) > 140 || input.CheckText("payee", tx.Payee, 560) != nil:
		return invalid("payee must be 1-140 characters of text")
	case utf8.RuneCountInString(tx.PaymentMethod) > 64 || input.CheckText("payment_method", tx.PaymentMethod, 256) != nil:
		return invalid("payment_method must be at most 64 characters of text")
	}
	return nil
}

// Canonical is the transaction's one encoding: the members in the order type, amount,
// currency, payee, payment_method (left out when empty), Go's JSON string escaping. It is
// what the code stores, the ID token releases and Hash hashes.
func (tx Transaction) Canonical() []byte {
	b, _ := json.Marshal(tx) // strings only: cannot fail
	return b
}

// Hash is the SHA-256 of the canonical encoding.
func (tx Transaction) Hash() [sha256.Size]byte { return sha256.Sum256(tx.Canonical()) }

// FromCanonical reads a transaction stored in its canonical encoding.
func FromCanonical(raw []byte) (Transaction, error) { return Parse(string(raw)) }
