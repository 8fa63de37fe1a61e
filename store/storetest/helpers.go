package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// ok fails the test now if err is not nil.
func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// isErr fails the test now unless errors.Is(err, want).
func isErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// same fails the test now unless got and want are equal records (times compared as
// instants).
func same[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// normalize returns v with its top-level time fields in UTC, and slices of records
// normalized element by element.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice:
		if rv.IsNil() {
			return v
		}
		out := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		for i := range rv.Len() {
			out.Index(i).Set(reflect.ValueOf(normalize(rv.Index(i).Interface())))
		}
		return out.Interface()
	case reflect.Struct:
		cp := reflect.New(rv.Type()).Elem()
		cp.Set(rv)
		for i := range cp.NumField() {
			if f := cp.Field(i); f.CanSet() && f.Type() == reflect.TypeFor[time.Time]() {
				f.Set(reflect.ValueOf(f.Interface().(time.Time).UTC()))
			}
		}
		return cp.Interface()
	}
	return v
}

// sameIDs fails the test now unless got and want hold the same IDs, in any order.
func sameIDs(t *testing.T, got, want []string, what string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got IDs %q, want %q", what, got, want)
	}
}
