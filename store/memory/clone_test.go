package memory

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// TestClonesShareNothing: every slice, map and pointer of every record type is copied, so
// a field added to a record later cannot silently share memory between a caller and the
// store (the conformance suite's Copies test checks the fields known today through the
// API; this one checks them all, by reflection).
func TestClonesShareNothing(t *testing.T) {
	checkClone(t, cloneUser)
	checkClone(t, cloneSession)
	checkClone(t, cloneAuthCode)
	checkClone(t, cloneRefreshToken)
	checkClone(t, cloneSigningKey)
	checkClone(t, cloneClient)
	checkClone(t, cloneOneTimeCode)
	checkClone(t, cloneGroup)
	checkClone(t, clonePasskey)
	checkClone(t, cloneConsent)
	checkClone(t, cloneSecondFactor)
	checkClone(t, cloneAuditEvent)
	checkClone(t, cloneSetting)
	// These are stored and returned by assignment, which copies them only while they hold
	// no slice, map or pointer.
	for _, v := range []any{store.PasswordCredential{}, store.Revocation{}, store.Identity{}} {
		if path := reference(reflect.TypeOf(v), reflect.TypeOf(v).Name()); path != "" {
			t.Errorf("%s is a reference: give the record a clone function", path)
		}
	}
}

// checkClone checks that clone returns an equal record sharing no memory with the
// original, for a record with every field set and for the zero record (nil stays nil).
func checkClone[T any](t *testing.T, clone func(T) T) {
	t.Helper()
	var zero, full T
	fill(reflect.ValueOf(&full).Elem())
	name := reflect.TypeFor[T]().Name()
	for _, v := range []T{zero, full} {
		c := clone(v)
		if !reflect.DeepEqual(c, v) {
			t.Errorf("clone of %s differs:\n got  %+v\n want %+v", name, c, v)
		}
		if path := shared(reflect.ValueOf(v), reflect.ValueOf(c), name); path != "" {
			t.Errorf("clone of %s shares %s with the original", name, path)
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets every exported field of v, recursively, to a non-zero value; slices and maps
// get one element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint8:
		v.SetUint(1)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(1, 0)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " (extend the test)")
	}
}

// shared returns the path of the first slice, map or pointer that a and b share, or "".
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[i]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
		for _, k := range a.MapKeys() {
			if p := shared(a.MapIndex(k), b.MapIndex(k), path+"[k]"); p != "" {
				return p
			}
		}
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
		if !a.IsNil() {
			return shared(a.Elem(), b.Elem(), path)
		}
	case reflect.Struct:
		if a.Type() == timeType {
			return ""
		}
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

// reference returns the path of the first slice, map or pointer in type t, or "".
func reference(t reflect.Type, path string) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		return path
	case reflect.Struct:
		if t == timeType {
			return ""
		}
		for i := range t.NumField() {
			if p := reference(t.Field(i).Type, path+"."+t.Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestClosed: a closed store refuses every call with ErrClosed, and closing twice is
// harmless.
func TestClosed(t *testing.T) {
	s := New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.GetUser(t.Context(), "u1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	_, err := s.UpdateUser(t.Context(), "u1", func(u store.User) (store.User, error) { return u, nil })
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("update after close: %v, want ErrClosed", err)
	}
}
