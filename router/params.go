package router

// Param is one parameter captured by a match.
type Param struct {
	Key   string // the parameter name as declared in the pattern
	Value string // the raw (not percent-decoded) text from the path
}

// Params are the parameters captured by a match, in the order they are
// declared in the pattern. Values are substrings of the matched path.
//
// An optional parameter {name?} or catch-all {name*} that matched no
// segment at all (the path ended before it, e.g. "/items" against
// "/items/{id?}") is absent from Params; one that matched an empty final
// segment ("/items/") is present with the value "".
type Params []Param

// Get returns the value of the parameter named key, or "" if there is no
// such parameter. Use a loop over p to tell an absent parameter from an
// empty one.
func (p Params) Get(key string) string {
	for i := range p {
		if p[i].Key == key {
			return p[i].Value
		}
	}
	return ""
}

// Map returns the parameters as a new map from name to value. It never
// returns nil: for no parameters (including a nil Params) the result is an
// empty, non-nil map the caller may add to.
func (p Params) Map() map[string]string {
	m := make(map[string]string, len(p))
	for _, kv := range p {
		m[kv.Key] = kv.Value
	}
	return m
}
