package definitions

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFieldNormalize(t *testing.T) {
	lieferart := Field{Key: "lieferart", Type: TypeSelect, Label: "Lieferart", Options: []Option{
		{Value: "abholen", Label: "Abholen"}, {Value: "liefern", Label: "Liefern"},
	}}
	unrestricted := Field{Key: "ausstattung", Type: TypeVehicleConfig, Label: "Ausstattung"}
	restricted := Field{Key: "ausstattung", Type: TypeVehicleConfig, Label: "Ausstattung", Extras: []string{"AHK", "Sitzheizung", "Winterräder"}}
	vehicle := []string{"AHK", "Navi", "Sitzheizung"}
	long := strings.Repeat("x", maxTextLen)

	tests := []struct {
		name    string
		field   Field
		value   any
		extras  []string
		want    any
		wantErr string
	}{
		// Checkbox and suppress messages take a bool.
		{name: "checkbox true", field: Field{Type: TypeCheckbox}, value: true, want: true},
		{name: "checkbox false", field: Field{Type: TypeCheckbox}, value: false, want: false},
		{name: "checkbox string", field: Field{Type: TypeCheckbox}, value: "true", wantErr: "must be true or false, got a string"},
		{name: "checkbox number", field: Field{Type: TypeCheckbox}, value: 1.0, wantErr: "must be true or false, got a number"},
		{name: "checkbox null", field: Field{Type: TypeCheckbox}, value: nil, wantErr: "must be true or false, got null"},
		{name: "suppress messages true", field: Field{Type: TypeSuppressMessages}, value: true, want: true},
		{name: "suppress messages list", field: Field{Type: TypeSuppressMessages}, value: []any{}, wantErr: "must be true or false, got a list"},

		// Select takes one of its options, or nothing.
		{name: "select allowed option", field: lieferart, value: "liefern", want: "liefern"},
		{name: "select empty clears", field: lieferart, value: "", want: ""},
		{name: "select unknown option", field: lieferart, value: "spedition", wantErr: `"spedition" is not one of the options "abholen", "liefern"`},
		{name: "select option label is not a value", field: lieferart, value: "Liefern", wantErr: `"Liefern" is not one of the options "abholen", "liefern"`},
		{name: "select not a string", field: lieferart, value: true, wantErr: "must be a string, got a boolean"},
		{name: "select object", field: lieferart, value: map[string]any{"value": "liefern"}, wantErr: "must be a string, got an object"},

		// Job status takes a status.
		{name: "job status open", field: Field{Type: TypeJobStatus}, value: "open", want: "open"},
		{name: "job status sold", field: Field{Type: TypeJobStatus}, value: "sold", want: "sold"},
		{name: "job status closed", field: Field{Type: TypeJobStatus}, value: "closed", want: "closed"},
		{name: "job status canceled", field: Field{Type: TypeJobStatus}, value: "canceled", want: "canceled"},
		{name: "job status unknown", field: Field{Type: TypeJobStatus}, value: "verkauft", wantErr: `"verkauft" is not a status (open, sold, closed, canceled)`},
		{name: "job status empty", field: Field{Type: TypeJobStatus}, value: "", wantErr: `"" is not a status (open, sold, closed, canceled)`},
		{name: "job status number", field: Field{Type: TypeJobStatus}, value: 2.0, wantErr: "must be a string, got a number"},

		// Text-like types take a bounded string.
		{name: "text", field: Field{Type: TypeText}, value: "Montag 10 Uhr", want: "Montag 10 Uhr"},
		{name: "text empty", field: Field{Type: TypeText}, value: "", want: ""},
		{name: "text at the limit", field: Field{Type: TypeText}, value: long, want: long},
		{name: "text too long", field: Field{Type: TypeText}, value: long + "x", wantErr: "is longer than 10000 bytes"},
		{name: "text too long in bytes, not runes", field: Field{Type: TypeText}, value: strings.Repeat("ü", maxTextLen/2+1), wantErr: "is longer than 10000 bytes"},
		{name: "text not a string", field: Field{Type: TypeText}, value: 3.0, wantErr: "must be a string, got a number"},
		{name: "location", field: Field{Type: TypeLocation}, value: "Berlin-Mitte", want: "Berlin-Mitte"},
		{name: "location too long", field: Field{Type: TypeLocation}, value: long + "x", wantErr: "is longer than 10000 bytes"},
		{name: "external message", field: Field{Type: TypeExternalMessage}, value: "Ist das Auto noch da?", want: "Ist das Auto noch da?"},
		{name: "external message too long", field: Field{Type: TypeExternalMessage}, value: long + "x", wantErr: "is longer than 10000 bytes"},

		// Callback phone.
		{name: "phone international", field: Field{Type: TypeCallbackPhone}, value: "+49 30 1234567", want: "+49 30 1234567"},
		{name: "phone national with separators", field: Field{Type: TypeCallbackPhone}, value: "(030) 123-45/67", want: "(030) 123-45/67"},
		{name: "phone five digits", field: Field{Type: TypeCallbackPhone}, value: "12345", want: "12345"},
		{name: "phone fifteen digits", field: Field{Type: TypeCallbackPhone}, value: "+123456789012345", want: "+123456789012345"},
		{name: "phone empty clears", field: Field{Type: TypeCallbackPhone}, value: "", want: ""},
		{name: "phone too few digits", field: Field{Type: TypeCallbackPhone}, value: "1234", wantErr: `"1234" is not a phone number`},
		{name: "phone too many digits", field: Field{Type: TypeCallbackPhone}, value: "1234567890123456", wantErr: `"1234567890123456" is not a phone number`},
		{name: "phone with letters", field: Field{Type: TypeCallbackPhone}, value: "030 CALL ME", wantErr: `"030 CALL ME" is not a phone number`},
		{name: "phone plus in the middle", field: Field{Type: TypeCallbackPhone}, value: "030+12345", wantErr: `"030+12345" is not a phone number`},
		{name: "phone only separators", field: Field{Type: TypeCallbackPhone}, value: "+ - / ()", wantErr: `"+ - / ()" is not a phone number`},
		{name: "phone not a string", field: Field{Type: TypeCallbackPhone}, value: 30123456.0, wantErr: "must be a string, got a number"},
		{name: "phone too long", field: Field{Type: TypeCallbackPhone}, value: long + "1", wantErr: "is longer than 10000 bytes"},

		// Vehicle configuration: the vehicle's extras, narrowed by the field's own.
		{name: "vehicle extras", field: unrestricted, value: []any{"Navi", "AHK"}, extras: vehicle, want: []any{"Navi", "AHK"}},
		{name: "vehicle extras as strings", field: unrestricted, value: []string{"Navi"}, extras: vehicle, want: []any{"Navi"}},
		{name: "vehicle extras deduplicated", field: unrestricted, value: []any{"AHK", "Navi", "AHK"}, extras: vehicle, want: []any{"AHK", "Navi"}},
		{name: "vehicle extras none chosen", field: unrestricted, value: []any{}, extras: vehicle, want: []any{}},
		{name: "extra the vehicle lacks", field: unrestricted, value: []any{"AHK", "Schiebedach"}, extras: vehicle, wantErr: `[1]: "Schiebedach" is not an extra offered here`},
		{name: "vehicle without extras offers none", field: unrestricted, value: []any{"AHK"}, extras: nil, wantErr: `[0]: "AHK" is not an extra offered here`},
		{name: "restricted field, extra in both", field: restricted, value: []any{"Sitzheizung", "AHK"}, extras: vehicle, want: []any{"Sitzheizung", "AHK"}},
		{name: "restricted field, extra only on the vehicle", field: restricted, value: []any{"Navi"}, extras: vehicle, wantErr: `[0]: "Navi" is not an extra offered here`},
		{name: "restricted field, extra only in the field", field: restricted, value: []any{"AHK", "Winterräder"}, extras: vehicle, wantErr: `[1]: "Winterräder" is not an extra offered here`},
		{name: "restricted field, vehicle without extras offers none", field: restricted, value: []any{"AHK"}, extras: nil, wantErr: `[0]: "AHK" is not an extra offered here`},
		{name: "restricted field, nothing chosen on a vehicle without extras", field: restricted, value: []any{}, extras: nil, want: []any{}},
		{name: "vehicle config not a list", field: unrestricted, value: "AHK", extras: vehicle, wantErr: "must be a list of extras, got a string"},
		{name: "vehicle config null", field: unrestricted, value: nil, extras: vehicle, wantErr: "must be a list of extras, got null"},
		{name: "vehicle config item not a string", field: unrestricted, value: []any{"AHK", 3.0}, extras: vehicle, wantErr: "[1]: must be a string, got a number"},

		// Types that take no value from a submit.
		{name: "static text", field: Field{Type: TypeStaticText}, value: "x", wantErr: "a static_text field takes no value from a submit"},
		{name: "document view", field: Field{Type: TypeDocumentView}, value: "x", wantErr: "a document_view field takes no value from a submit"},
		{name: "document store", field: Field{Type: TypeDocumentStore}, value: "x", wantErr: "a document_store field takes no value from a submit"},
		{name: "file upload", field: Field{Type: TypeFileUpload}, value: "x", wantErr: "a file_upload field takes no value from a submit"},
		{name: "payment", field: Field{Type: TypePayment}, value: "paid", wantErr: "a payment field takes no value from a submit"},
		{name: "save button", field: Field{Type: TypeSaveButton}, value: true, wantErr: "a save_button field takes no value from a submit"},
		{name: "unknown type", field: Field{Type: "datum"}, value: "2024-01-01", wantErr: "a datum field takes no value from a submit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.field.Normalize(tt.value, tt.extras)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// Every type that takes input normalizes something; every other type refuses.
func TestNormalizeMatchesInput(t *testing.T) {
	sample := map[FieldType]any{
		TypeText: "a", TypeSelect: "", TypeVehicleConfig: []any{}, TypeCheckbox: true,
		TypeLocation: "Berlin", TypeJobStatus: "open", TypeCallbackPhone: "", TypeExternalMessage: "a",
		TypeSuppressMessages: false,
	}
	for _, ft := range FieldTypes {
		v, ok := sample[ft]
		require.Equal(t, ft.Input(), ok, "sample for %s", ft)
		if !ok {
			v = "x"
		}
		_, err := Field{Type: ft}.Normalize(v, nil)
		if ft.Input() {
			require.NoError(t, err, ft)
		} else {
			require.Error(t, err, ft)
		}
	}
}

// Normalize does not change the field's extras or the vehicle's.
func TestNormalizeVehicleConfigKeepsInputs(t *testing.T) {
	f := Field{Type: TypeVehicleConfig, Extras: []string{"AHK", "Navi", "Winterräder"}}
	vehicle := []string{"Navi", "AHK"}
	_, err := f.Normalize([]any{"Navi"}, vehicle)
	require.NoError(t, err)
	require.Equal(t, []string{"AHK", "Navi", "Winterräder"}, f.Extras)
	require.Equal(t, []string{"Navi", "AHK"}, vehicle)
}

func TestEmpty(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  bool
	}{
		{"nil", nil, true},
		{"empty string", "", true},
		{"blank string", " \t\n", true},
		{"string", "x", false},
		{"padded string", "  x ", false},
		{"false", false, true},
		{"true", true, false},
		{"empty list", []any{}, true},
		{"nil list", []any(nil), true},
		{"list", []any{"AHK"}, false},
		{"zero number", 0.0, false},
		{"number", 5.0, false},
		{"object", map[string]any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Empty(tt.value))
		})
	}
}

func TestZero(t *testing.T) {
	tests := []struct {
		field Field
		want  any
	}{
		{Field{Type: TypeStaticText}, nil},
		{Field{Type: TypeDocumentView, Templates: []string{"angebot_pdf"}}, nil},
		{Field{Type: TypeSaveButton}, nil},
		{Field{Type: TypeStaticText, Default: "ignored"}, nil},
		{Field{Type: TypeCheckbox}, false},
		{Field{Type: TypeSuppressMessages}, false},
		{Field{Type: TypeVehicleConfig}, []any{}},
		{Field{Type: TypeText}, ""},
		{Field{Type: TypeSelect, Options: []Option{{Value: "a"}}}, ""},
		{Field{Type: TypeLocation}, ""},
		{Field{Type: TypeJobStatus}, ""},
		{Field{Type: TypeCallbackPhone}, ""},
		{Field{Type: TypeExternalMessage}, ""},
		{Field{Type: TypeDocumentStore}, ""},
		{Field{Type: TypeFileUpload}, ""},
		{Field{Type: TypePayment}, ""},
		// The default wins over the type's zero value.
		{Field{Type: TypeCheckbox, Default: true}, true},
		{Field{Type: TypeSelect, Options: []Option{{Value: "a"}}, Default: "a"}, "a"},
		{Field{Type: TypeJobStatus, Default: "open"}, "open"},
		{Field{Type: TypeVehicleConfig, Default: []any{"AHK"}}, []any{"AHK"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.field.Type), func(t *testing.T) {
			got := tt.field.Zero()
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.field.Type.HoldsValue(), got != nil)
		})
	}
	// Every type is covered.
	covered := map[FieldType]bool{}
	for _, tt := range tests {
		covered[tt.field.Type] = true
	}
	for _, ft := range FieldTypes {
		require.True(t, covered[ft], "Zero of %s not tested", ft)
	}
}

// A value that has never been set is Empty for every input type without a default, so
// a required field always starts missing.
func TestZeroIsEmptyWithoutDefault(t *testing.T) {
	for _, ft := range FieldTypes {
		if !ft.Input() {
			continue
		}
		require.True(t, Empty(Field{Type: ft}.Zero()), ft)
	}
}
