// Package schema embeds the project's generated JSON Schemas (draft 2020-12) and validates
// behavior events against them with the same verdicts, field paths and rule ids as the
// TypeScript validator of the ingestion server (gen/validator in the source repository).
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// FS holds every generated JSON Schema as jsonschema/<full message name>[.kafka|.strict].schema.json,
// e.g. jsonschema/recommender.v1.BehaviorEvent.kafka.schema.json.
//
//go:embed jsonschema/*.json
var FS embed.FS

// Mode selects the schema an event is checked against.
type Mode string

const (
	// Request is what the REST/gRPC API accepts: event_id and timestamp may be absent (the
	// server fills them) and enums may use their proto names.
	Request Mode = "request"
	// Kafka is a message on user-behaviors-{tenant_id}: every field the server fills is
	// required and enums are wire names ("play_end", "mobile").
	Kafka Mode = "kafka"
)

// Violation is one broken rule.
type Violation struct {
	// Field is the TS validator's path: dotted, array items as [i], e.g. "context.device_type" or
	// "scenario_data.video_data.seek_positions[2]"; a missing property is reported at its own
	// path; "" is the event itself.
	Field string `json:"field"`
	// Rule is the TS validator's rule id: required, type, enum, range, pattern, max_len,
	// max_items, oneof, unknown_field, ...
	Rule string `json:"rule"`
	// Message explains it in English.
	Message string `json:"message"`
}

// File returns the bytes of one embedded schema, by file name.
func File(name string) ([]byte, error) { return fs.ReadFile(FS, "jsonschema/"+name) }

var fileByMode = map[Mode]string{
	Request: "recommender.v1.BehaviorEvent.schema.json",
	Kafka:   "recommender.v1.BehaviorEvent.kafka.schema.json",
}

type compiled struct {
	sch *jsonschema.Schema
	doc any // the schema document as compiled (maxLength renamed, see utf16MaxLenKeyword)
}

var (
	cacheMu sync.Mutex
	cache   = map[Mode]*compiled{}
)

// Validate checks a BehaviorEvent against the schema of mode. The event is JSON text ([]byte,
// json.RawMessage) or a value encoding/json marshals: a decoded map[string]any, a struct with
// the wire field names, ... It returns the violations, sorted by field (none: the event is
// valid), or an error when the input is not JSON. Safe for concurrent use.
func Validate(event any, mode Mode) ([]Violation, error) {
	c, err := load(mode)
	if err != nil {
		return nil, err
	}
	inst, err := toInstance(event)
	if err != nil {
		return nil, err
	}
	verr := c.sch.Validate(inst)
	if verr == nil {
		return []Violation{}, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return nil, verr
	}
	return c.violations(ve, inst), nil
}

// toInstance decodes the event the way the schema library expects (numbers as json.Number).
func toInstance(event any) (any, error) {
	var raw []byte
	switch e := event.(type) {
	case []byte:
		raw = e
	case json.RawMessage:
		raw = e
	default:
		b, err := json.Marshal(event)
		if err != nil {
			return nil, fmt.Errorf("schema: event is not JSON-encodable: %w", err)
		}
		raw = b
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema: event is not valid JSON: %w", err)
	}
	return inst, nil
}

// utf16MaxLenKeyword replaces maxLength in the compiled documents: the project's max_len counts
// UTF-16 code units (as the TS validator and the server's ajv do), where JSON Schema's maxLength
// counts code points. Renaming it keeps the embedded files the generated ones, byte for byte.
const utf16MaxLenKeyword = "x-max-len-utf16"

func load(mode Mode) (*compiled, error) {
	name, ok := fileByMode[mode]
	if !ok {
		return nil, fmt.Errorf("schema: unknown mode %q (want %q or %q)", mode, Request, Kafka)
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if c := cache[mode]; c != nil {
		return c, nil
	}
	raw, err := File(name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", name, err)
	}
	renameMaxLength(doc)
	comp := jsonschema.NewCompiler()
	comp.AssertVocabs()
	comp.RegisterVocabulary(maxLenVocabulary())
	if err := comp.AddResource(name, doc); err != nil {
		return nil, err
	}
	sch, err := comp.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", name, err)
	}
	c := &compiled{sch: sch, doc: doc}
	cache[mode] = c
	return c, nil
}

func renameMaxLength(v any) {
	switch x := v.(type) {
	case map[string]any:
		// Only in schema objects: a property named maxLength sits under "properties" and is kept.
		for k, child := range x {
			if k == "properties" || k == "$defs" {
				if m, ok := child.(map[string]any); ok {
					for _, sub := range m {
						renameMaxLength(sub)
					}
				}
				continue
			}
			renameMaxLength(child)
		}
		if n, ok := x["maxLength"]; ok {
			delete(x, "maxLength")
			x[utf16MaxLenKeyword] = n
		}
	case []any:
		for _, child := range x {
			renameMaxLength(child)
		}
	}
}

// --- the UTF-16 max length keyword

type maxLen struct{ max int }

func (m *maxLen) Validate(ctx *jsonschema.ValidatorContext, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	if n := len(utf16.Encode([]rune(s))); n > m.max {
		ctx.AddError(&maxLenError{Got: n, Want: m.max})
	}
}

type maxLenError struct{ Got, Want int }

func (*maxLenError) KeywordPath() []string { return []string{utf16MaxLenKeyword} }
func (k *maxLenError) LocalizedString(p *message.Printer) string {
	return p.Sprintf("must be at most %d characters (UTF-16 code units) long, got %d", k.Want, k.Got)
}

func maxLenVocabulary() *jsonschema.Vocabulary {
	const u = "urn:recommender:vocab:max-len-utf16"
	meta, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"properties":{"` + utf16MaxLenKeyword + `":{"type":"integer","minimum":0}}}`))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(u, meta); err != nil {
		panic(err)
	}
	return &jsonschema.Vocabulary{
		URL:    u,
		Schema: c.MustCompile(u),
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			v, ok := obj[utf16MaxLenKeyword]
			if !ok {
				return nil, nil
			}
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil {
				return nil, fmt.Errorf("%s: %v is not an integer", utf16MaxLenKeyword, v)
			}
			return &maxLen{max: n}, nil
		},
	}
}

// --- mapping the library's error tree to the TS validator's violations

type leaf struct {
	loc  []string
	kind jsonschema.ErrorKind
	url  string // SchemaURL of the failing keyword's schema
	// oneof marks a leaf that stands for a whole failed "then" of a oneof encoding.
	oneof bool
}

func (c *compiled) violations(root *jsonschema.ValidationError, inst any) []Violation {
	var leaves []leaf
	collect(root, &leaves)
	byField := map[string][]Violation{}
	var order []string
	add := func(v Violation) {
		if _, seen := byField[v.Field]; !seen {
			order = append(order, v.Field)
		}
		for _, w := range byField[v.Field] {
			if w.Rule == v.Rule {
				return
			}
		}
		byField[v.Field] = append(byField[v.Field], v)
	}
	for _, l := range leaves {
		field, value := fieldPath(inst, l.loc)
		if l.oneof {
			add(Violation{Field: field, Rule: "oneof", Message: label(field) + ": at most one member of the oneof may be set"})
			continue
		}
		msg := label(field) + ": " + l.kind.LocalizedString(printer)
		switch k := l.kind.(type) {
		case *kind.Required:
			for _, name := range k.Missing {
				f := join(field, name)
				add(Violation{Field: f, Rule: "required", Message: f + " is required"})
			}
		case *kind.Type:
			// The TS validator treats null like absent: a null property is "required" when the
			// schema does not allow null there (array items stay "type").
			if value == nil && len(l.loc) > 0 && !isIndexed(inst, l.loc) {
				add(Violation{Field: field, Rule: "required", Message: field + " is required"})
			} else {
				add(Violation{Field: field, Rule: "type", Message: msg})
			}
		case *kind.MinLength:
			// minLength: 1 is how the schema says a required string must be non-empty.
			add(Violation{Field: field, Rule: "required", Message: field + " is required"})
		case *maxLenError:
			add(Violation{Field: field, Rule: "max_len", Message: msg})
		case *kind.Pattern:
			add(Violation{Field: field, Rule: "pattern", Message: msg})
		case *kind.Enum, *kind.Const:
			add(Violation{Field: field, Rule: "enum", Message: msg})
		case *kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum:
			rule := "range"
			if c.outsideIntegerType(l.url, value) {
				rule = "type"
			}
			add(Violation{Field: field, Rule: rule, Message: msg})
		case *kind.MaxItems:
			add(Violation{Field: field, Rule: "max_items", Message: msg})
		case *kind.OneOf, *kind.MaxProperties:
			add(Violation{Field: field, Rule: "oneof", Message: msg})
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				f := join(field, p)
				add(Violation{Field: f, Rule: "unknown_field", Message: "unknown field " + f})
			}
		default:
			kw := l.kind.KeywordPath()
			rule := "schema"
			if len(kw) > 0 {
				rule = kw[len(kw)-1]
			}
			add(Violation{Field: field, Rule: rule, Message: msg})
		}
	}
	// Like the TS validator, a value of the wrong type (or a missing one) gets that single
	// violation, not also the checks its type would have had.
	out := []Violation{}
	sort.Strings(order)
	for _, f := range order {
		vs := byField[f]
		for _, pick := range []string{"required", "type"} {
			for _, v := range vs {
				if v.Rule == pick {
					vs = []Violation{v}
					break
				}
			}
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i].Rule < vs[j].Rule })
		out = append(out, vs...)
	}
	return out
}

var printer = message.NewPrinter(message.MatchLanguage("en"))

// collect flattens the error tree into its leaves, choosing the branch of anyOf/oneOf that the
// value was meant for.
func collect(e *jsonschema.ValidationError, out *[]leaf) {
	// The schema's encoding of a proto oneof is "if this member is set, then the others are
	// null" (allOf of if/then); a failure below a then is one oneof violation on the object.
	if _, rest, ok := strings.Cut(e.SchemaURL, "/then/properties/"); ok && !strings.Contains(rest, "/") && len(e.InstanceLocation) > 0 {
		*out = append(*out, leaf{loc: e.InstanceLocation[:len(e.InstanceLocation)-1], kind: e.ErrorKind, url: e.SchemaURL, oneof: true})
		return
	}
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf:
		collectBranches(e, out)
		return
	case *kind.OneOf:
		if k.Subschemas == nil {
			collectBranches(e, out)
			return
		}
	}
	if len(e.Causes) == 0 {
		*out = append(*out, leaf{loc: e.InstanceLocation, kind: e.ErrorKind, url: e.SchemaURL})
		return
	}
	for _, c := range e.Causes {
		collect(c, out)
	}
}

// collectBranches keeps the branches that failed for a reason other than the value's type (for
// `anyOf: [{$ref: X}, {type: null}]` and an object value, the X branch); when every branch
// failed on type alone, one type violation remains.
func collectBranches(e *jsonschema.ValidationError, out *[]leaf) {
	var typeOnly, other []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if onlyTypeAt(c, len(e.InstanceLocation)) {
			typeOnly = append(typeOnly, c)
		} else {
			other = append(other, c)
		}
	}
	if len(other) == 0 {
		if len(typeOnly) > 0 {
			collect(typeOnly[0], out)
		} else {
			*out = append(*out, leaf{loc: e.InstanceLocation, kind: e.ErrorKind, url: e.SchemaURL})
		}
		return
	}
	for _, c := range other {
		collect(c, out)
	}
}

// onlyTypeAt: the branch failed only because of the type of the value at depth n.
func onlyTypeAt(e *jsonschema.ValidationError, n int) bool {
	if len(e.Causes) == 0 {
		_, isType := e.ErrorKind.(*kind.Type)
		return isType && len(e.InstanceLocation) == n
	}
	for _, c := range e.Causes {
		if !onlyTypeAt(c, n) {
			return false
		}
	}
	return true
}

// fieldPath renders an instance location in the TS validator's form and returns the value there.
func fieldPath(inst any, loc []string) (string, any) {
	var b strings.Builder
	cur := inst
	for _, tok := range loc {
		switch x := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(x) {
				cur = x[i]
			} else {
				cur = nil
			}
		case map[string]any:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			cur = x[tok]
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			cur = nil
		}
	}
	return b.String(), cur
}

// isIndexed: the last token of loc is an array index.
func isIndexed(inst any, loc []string) bool {
	cur := inst
	for i, tok := range loc {
		switch x := cur.(type) {
		case []any:
			if i == len(loc)-1 {
				return true
			}
			j, _ := strconv.Atoi(tok)
			if j < 0 || j >= len(x) {
				return false
			}
			cur = x[j]
		case map[string]any:
			cur = x[tok]
		default:
			return false
		}
	}
	return false
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func label(field string) string {
	if field == "" {
		return "event"
	}
	return field
}

// Bounds of the JSON number ranges the TS validator checks as part of a field's type: int32,
// uint32, and int64/uint64 as safe integers (±(2^53-1)).
var (
	int32Min  = big.NewRat(-2147483648, 1)
	int32Max  = big.NewRat(2147483647, 1)
	uint32Max = big.NewRat(4294967295, 1)
	safeMax   = big.NewRat(9007199254740991, 1)
	safeMin   = big.NewRat(-9007199254740991, 1)
	zero      = new(big.Rat)
)

// outsideIntegerType: the value is beyond its field's integer type (the TS validator's "type",
// not "range"). The type is read from the schema's maximum, which is the type's bound.
func (c *compiled) outsideIntegerType(schemaURL string, value any) bool {
	num, ok := value.(json.Number)
	if !ok {
		return false
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok {
		return false
	}
	if r.Cmp(safeMax) > 0 || r.Cmp(safeMin) < 0 {
		return true
	}
	obj := c.schemaAt(schemaURL)
	if obj == nil {
		return false
	}
	maxN, ok := obj["maximum"].(json.Number)
	if !ok {
		return false
	}
	switch string(maxN) {
	case "2147483647":
		return r.Cmp(int32Min) < 0 || r.Cmp(int32Max) > 0
	case "4294967295":
		return r.Cmp(zero) < 0 || r.Cmp(uint32Max) > 0
	}
	return false
}

// schemaAt resolves a SchemaURL ("<name>#/json/pointer[/keyword]") to the schema object holding
// the keyword.
func (c *compiled) schemaAt(schemaURL string) map[string]any {
	_, frag, ok := strings.Cut(schemaURL, "#")
	if !ok {
		return nil
	}
	cur := c.doc
	var last map[string]any
	if m, ok := cur.(map[string]any); ok {
		last = m
	}
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		if t, err := url.PathUnescape(tok); err == nil {
			tok = t
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case map[string]any:
			last = x
			cur = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return last
			}
			cur = x[i]
		default:
			return last
		}
	}
	if m, ok := cur.(map[string]any); ok {
		return m
	}
	return last
}
