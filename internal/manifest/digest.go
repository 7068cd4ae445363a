package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
)

// Digest identifies what the manifest asks for: "sha256:" and the hex
// SHA-256 of its canonical form. Formatting, comments, key order, how the
// manifest is split into includes, and values spelled out that ApplyDefaults
// would fill in anyway do not change it; any change to what would be built
// does. The defaults include the build machine's architecture when the
// manifest names none, so a lock made on one architecture does not match
// there on another.
func (s *System) Digest() string {
	c := s.clone()
	c.Include = nil
	c.ApplyDefaults()
	sum := sha256.Sum256(canonicalJSON(c))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Clone returns a deep copy of s, for callers that derive a system from
// it (the build spells out what tenants and containers imply).
func (s *System) Clone() *System { return s.clone() }

// clone deep-copies s.
func (s *System) clone() *System {
	return deepCopy(reflect.ValueOf(s)).Interface().(*System)
}

// deepCopy copies v and everything it points to.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			c.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		return c
	}
	return v
}

// canonicalJSON renders v with its YAML key names, without empty values,
// with map keys sorted and no insignificant white space.
func canonicalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(canonical(reflect.ValueOf(v))); err != nil {
		panic("manifest: canonical form: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// canonical turns v into maps, lists and scalars, dropping empty values;
// it returns nil for an empty value.
func canonical(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Pointer {
			return orEmpty(canonical(v.Elem()), v.Type().Elem()) // a pointer to zero is a value
		}
		return canonical(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for _, f := range structFields(v.Type()) {
			fv := canonical(v.Field(f.index))
			if fv == nil {
				continue
			}
			if f.inline {
				for k, val := range fv.(map[string]any) {
					m[k] = val
				}
				continue
			}
			m[f.name] = fv
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		m := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			m[iter.Key().String()] = orEmpty(canonical(iter.Value()), v.Type().Elem())
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		l := make([]any, v.Len())
		for i := range l {
			l[i] = orEmpty(canonical(v.Index(i)), v.Type().Elem())
		}
		return l
	}
	if v.IsZero() {
		return nil
	}
	return v.Interface()
}

// orEmpty keeps an empty value that must stay in place (an entry of a list
// or map, the target of a pointer) as the empty value of its kind.
func orEmpty(c any, t reflect.Type) any {
	if c != nil {
		return c
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return map[string]any{}
	case reflect.Slice:
		return []any{}
	case reflect.Pointer:
		return nil
	}
	return reflect.Zero(t).Interface()
}
