package definitions

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testDefinition is a small, valid definition built fresh on every call, so a test case
// can change it freely. Indices matter: the expected problem paths refer to them.
//
//	fields:   0 hinweis, 1 notiz, 2 status, 3 wunsch, 4 dokument, 5 zustimmung,
//	          6 standort, 7 stumm, 8 extras, 9 speichern, 10 telefon
//	phases:   0 eingang, 1 offerte, 2 versand, 3 abschluss
//	messages: 0 willkommen, 1 offerte_sms
func testDefinition() Definition {
	return Definition{
		Workflow: Workflow{Key: "testablauf", Name: "Testablauf", Phases: []string{"eingang", "offerte", "versand", "abschluss"}},
		Phases: []Phase{
			{
				Key: "eingang", Name: "Eingang", Turn: TurnStaff, Messages: []string{"willkommen"},
				StaffFields:    []FieldUse{{Field: "notiz"}, {Field: "status"}, {Field: "standort"}, {Field: "stumm"}, {Field: "speichern"}},
				CustomerFields: []FieldUse{{Field: "hinweis", HideLabel: true}, {Field: "telefon"}},
			},
			{
				Key: "offerte", Name: "Offerte", Messages: []string{"offerte_sms"},
				StaffFields:    []FieldUse{{Field: "dokument"}, {Field: "extras"}, {Field: "speichern"}},
				CustomerFields: []FieldUse{{Field: "dokument", ReadOnly: true}, {Field: "extras"}, {Field: "wunsch", Required: true}, {Field: "speichern", Label: "Annehmen"}},
			},
			{
				Key: "versand", Name: "Versand", Condition: `fields.wunsch == "ja"`, FollowUp: "abschluss",
				StaffFields:    []FieldUse{{Field: "notiz", Required: true}},
				CustomerFields: []FieldUse{{Field: "hinweis"}},
			},
			{
				Key: "abschluss", Name: "Abschluss",
				StaffFields:    []FieldUse{{Field: "status"}, {Field: "speichern"}},
				CustomerFields: []FieldUse{{Field: "hinweis"}, {Field: "zustimmung", Required: true}, {Field: "speichern", Condition: `side == "customer"`}},
			},
		},
		Fields: []Field{
			{Key: "hinweis", Type: TypeStaticText, Text: "Vielen Dank für Ihre Anfrage."},
			{Key: "notiz", Type: TypeText, Label: "Interne Notiz"},
			{Key: "status", Type: TypeJobStatus, Label: "Status", Default: "open"},
			{Key: "wunsch", Type: TypeSelect, Label: "Lieferung gewünscht?", Options: []Option{{Value: "ja", Label: "Ja"}, {Value: "nein", Label: "Nein"}}},
			{Key: "dokument", Type: TypeDocumentStore, Label: "Offerte", Templates: []string{"offerte_pdf"}},
			{Key: "zustimmung", Type: TypeCheckbox, Label: "Ich stimme zu", Default: false},
			{Key: "standort", Type: TypeLocation, Label: "Standort"},
			{Key: "stumm", Type: TypeSuppressMessages, Label: "Keine Nachrichten"},
			{Key: "extras", Type: TypeVehicleConfig, Label: "Extras", Extras: []string{"AHK", "Navi"}, Default: []any{"AHK"}},
			{Key: "speichern", Type: TypeSaveButton, Label: "Speichern"},
			{Key: "telefon", Type: TypeCallbackPhone, Label: "Rückrufnummer", Condition: `customer.logged_in`},
		},
		Messages: []MessageTemplate{
			{Key: "willkommen", Channel: ChannelEmail, Customer: true, Subject: "Willkommen", Body: "Guten Tag {kunde}"},
			{Key: "offerte_sms", Channel: ChannelSMS, Customer: true, Body: "Ihre Offerte liegt bereit"},
		},
		Documents: []string{"offerte_pdf", "rechnung_pdf"},
	}
}

func problem(path, format string, args ...any) Problem {
	return Problem{Path: path, Message: fmt.Sprintf(format, args...)}
}

func TestTestDefinitionIsValid(t *testing.T) {
	d := testDefinition()
	require.Nil(t, d.Validate())
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Definition)
		want   Problems
	}{
		// Workflow.
		{
			name:   "empty definition",
			change: func(d *Definition) { *d = Definition{} },
			want: Problems{
				problem("workflow.key", "must not be empty"),
				problem("workflow.name", "must not be empty"),
				problem("workflow.phases", "must list at least one phase"),
			},
		},
		{
			name: "workflow without phases",
			change: func(d *Definition) {
				d.Workflow.Phases = nil
				d.Phases = nil
			},
			want: Problems{problem("workflow.phases", "must list at least one phase")},
		},
		{
			name:   "workflow name only blanks",
			change: func(d *Definition) { d.Workflow.Name = "  " },
			want:   Problems{problem("workflow.name", "must not be empty")},
		},
		{
			name:   "workflow lists an unknown phase",
			change: func(d *Definition) { d.Workflow.Phases[2] = "zustellung" },
			want: Problems{
				problem("workflow.phases[2]", `unknown phase "zustellung"`),
				problem("phases[2]", `phase "versand" is out of workflow order (want "zustellung")`),
			},
		},
		{
			name: "workflow lists a phase twice",
			change: func(d *Definition) {
				d.Workflow.Phases = append(d.Workflow.Phases, "eingang")
			},
			want: Problems{
				problem("workflow.phases[4]", `phase "eingang" listed twice`),
				problem("phases", "has 4 phases, the workflow lists 5"),
			},
		},
		{
			name: "phases out of workflow order",
			change: func(d *Definition) {
				d.Workflow.Phases[0], d.Workflow.Phases[1] = d.Workflow.Phases[1], d.Workflow.Phases[0]
			},
			want: Problems{
				problem("phases[0]", `phase "eingang" is out of workflow order (want "offerte")`),
				problem("phases[1]", `phase "offerte" is out of workflow order (want "eingang")`),
			},
		},
		// Phases.
		{
			name:   "duplicate phase key",
			change: func(d *Definition) { d.Phases[2].Key = "offerte" },
			want: Problems{
				problem("phases[2].key", `duplicate phase "offerte"`),
				problem("workflow.phases[2]", `unknown phase "versand"`),
				problem("phases[2]", `phase "offerte" is out of workflow order (want "versand")`),
			},
		},
		{
			name: "empty phase key and name",
			change: func(d *Definition) {
				d.Phases[1].Key = ""
				d.Phases[1].Name = " "
			},
			want: Problems{
				problem("phases[1].key", "must not be empty"),
				problem("phases[1].name", "must not be empty"),
				problem("workflow.phases[1]", `unknown phase "offerte"`),
				problem("phases[1]", `phase "" is out of workflow order (want "offerte")`),
			},
		},
		{
			name:   "unknown turn",
			change: func(d *Definition) { d.Phases[0].Turn = "dealer" },
			want:   Problems{problem("phases[0].turn", `"dealer" is neither "customer" nor "staff"`)},
		},
		{
			name:   "unknown message key in a phase",
			change: func(d *Definition) { d.Phases[1].Messages = append(d.Phases[1].Messages, "angebot_mail") },
			want:   Problems{problem("phases[1].messages[1]", `unknown message template "angebot_mail"`)},
		},
		{
			name:   "phase condition does not compile",
			change: func(d *Definition) { d.Phases[2].Condition = `fields.wunsch == "ja" &&` },
			want: Problems{problem("phases[2].condition",
				"condition does not compile at 1:25: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}")},
		},
		{
			name:   "phase condition that is not bool",
			change: func(d *Definition) { d.Phases[2].Condition = `1 + 1` },
			want:   Problems{problem("phases[2].condition", "condition does not compile: yields int, want bool")},
		},
		// Follow-ups.
		{
			name:   "follow-up to no phase of the workflow",
			change: func(d *Definition) { d.Phases[2].FollowUp = "feedback_x" },
			want:   Problems{problem("phases[2].follow_up", `follow-up "feedback_x" is not a phase of this workflow`)},
		},
		{
			name:   "follow-up to itself",
			change: func(d *Definition) { d.Phases[2].FollowUp = "versand" },
			want:   Problems{problem("phases[2].follow_up", "follow-ups loop: versand → versand")},
		},
		{
			name:   "follow-up loop of two",
			change: func(d *Definition) { d.Phases[3].FollowUp = "versand" },
			want: Problems{
				problem("phases[2].follow_up", "follow-ups loop: versand → abschluss → versand"),
				problem("phases[3].follow_up", "follow-ups loop: abschluss → versand → abschluss"),
			},
		},
		{
			name: "follow-up loop of three",
			change: func(d *Definition) {
				d.Phases[0].FollowUp = "versand"
				d.Phases[3].FollowUp = "eingang"
			},
			want: Problems{
				problem("phases[0].follow_up", "follow-ups loop: eingang → versand → abschluss → eingang"),
				problem("phases[2].follow_up", "follow-ups loop: versand → abschluss → eingang → versand"),
				problem("phases[3].follow_up", "follow-ups loop: abschluss → eingang → versand → abschluss"),
			},
		},
		{
			name:   "follow-up chain without loop is fine",
			change: func(d *Definition) { d.Phases[0].FollowUp = "versand" },
			want:   nil,
		},
		// Field uses.
		{
			name:   "unknown field in a customer view",
			change: func(d *Definition) { d.Phases[3].CustomerFields[1].Field = "lieferwunsch" },
			want:   Problems{problem("phases[3].customer_fields[1].field", `unknown field "lieferwunsch"`)},
		},
		{
			name:   "unknown field in a staff view",
			change: func(d *Definition) { d.Phases[0].StaffFields[2].Field = "filiale" },
			want:   Problems{problem("phases[0].staff_fields[2].field", `unknown field "filiale"`)},
		},
		{
			name:   "empty field key in a use",
			change: func(d *Definition) { d.Phases[0].StaffFields[0].Field = "" },
			want:   Problems{problem("phases[0].staff_fields[0].field", "must not be empty")},
		},
		{
			name: "field used twice in one view",
			change: func(d *Definition) {
				d.Phases[1].StaffFields = append(d.Phases[1].StaffFields, FieldUse{Field: "extras"})
			},
			want: Problems{problem("phases[1].staff_fields[3].field", `field "extras" used twice in this view`)},
		},
		{
			name: "job_status in a customer view",
			change: func(d *Definition) {
				d.Phases[0].CustomerFields = append(d.Phases[0].CustomerFields, FieldUse{Field: "status"})
			},
			want: Problems{problem("phases[0].customer_fields[2].field", "a job_status field cannot be used in the customer view")},
		},
		{
			name: "suppress_messages in a customer view",
			change: func(d *Definition) {
				d.Phases[1].CustomerFields = append(d.Phases[1].CustomerFields, FieldUse{Field: "stumm"})
			},
			want: Problems{problem("phases[1].customer_fields[4].field", "a suppress_messages field cannot be used in the customer view")},
		},
		{
			name: "location in a customer view, even read-only",
			change: func(d *Definition) {
				d.Phases[3].CustomerFields = append(d.Phases[3].CustomerFields, FieldUse{Field: "standort", ReadOnly: true})
			},
			want: Problems{problem("phases[3].customer_fields[3].field", "a location field cannot be used in the customer view")},
		},
		{
			name: "staff-only types are fine in the staff view",
			change: func(d *Definition) {
				d.Phases[3].StaffFields = append(d.Phases[3].StaffFields, FieldUse{Field: "standort"}, FieldUse{Field: "stumm", Required: true})
			},
			want: nil,
		},
		{
			name:   "required static text",
			change: func(d *Definition) { d.Phases[3].CustomerFields[0].Required = true },
			want:   Problems{problem("phases[3].customer_fields[0].required", "a static_text field cannot be required")},
		},
		{
			name:   "required document",
			change: func(d *Definition) { d.Phases[1].StaffFields[0].Required = true },
			want:   Problems{problem("phases[1].staff_fields[0].required", "a document_store field cannot be required")},
		},
		{
			name:   "required save button",
			change: func(d *Definition) { d.Phases[0].StaffFields[4].Required = true },
			want:   Problems{problem("phases[0].staff_fields[4].required", "a save_button field cannot be required")},
		},
		{
			name:   "required and read-only",
			change: func(d *Definition) { d.Phases[1].CustomerFields[2].ReadOnly = true },
			want:   Problems{problem("phases[1].customer_fields[2].required", "a read-only use cannot be required")},
		},
		{
			name:   "required, read-only and not an input",
			change: func(d *Definition) { d.Phases[1].CustomerFields[0].Required = true },
			want: Problems{
				problem("phases[1].customer_fields[0].required", "a document_store field cannot be required"),
				problem("phases[1].customer_fields[0].required", "a read-only use cannot be required"),
			},
		},
		{
			name: "field use condition does not compile",
			change: func(d *Definition) {
				d.Phases[3].CustomerFields[2].Condition = "side == \"customer\" &&\n  kunde.eingeloggt"
			},
			want: Problems{problem("phases[3].customer_fields[2].condition", "condition does not compile at 2:3: undeclared reference to 'kunde' (in container '')")},
		},
		// Fields.
		{
			name: "duplicate field key",
			change: func(d *Definition) {
				d.Fields = append(d.Fields, Field{Key: "notiz", Type: TypeText, Label: "Noch eine Notiz"})
			},
			want: Problems{problem("fields[11].key", `duplicate field "notiz"`)},
		},
		{
			name:   "empty field key",
			change: func(d *Definition) { d.Fields = append(d.Fields, Field{Type: TypeText, Label: "Ohne Schlüssel"}) },
			want:   Problems{problem("fields[11].key", "must not be empty")},
		},
		{
			name:   "field key with capitals",
			change: func(d *Definition) { d.Fields = append(d.Fields, Field{Key: "Notiz2", Type: TypeText, Label: "Notiz"}) },
			want:   Problems{problem("fields[11].key", `"Notiz2" may hold only a-z, 0-9 and _ and must start with a letter`)},
		},
		{
			name:   "field key starting with a digit",
			change: func(d *Definition) { d.Fields = append(d.Fields, Field{Key: "2notiz", Type: TypeText, Label: "Notiz"}) },
			want:   Problems{problem("fields[11].key", `"2notiz" may hold only a-z, 0-9 and _ and must start with a letter`)},
		},
		{
			name:   "unknown field type",
			change: func(d *Definition) { d.Fields[1].Type = "datum" },
			want:   Problems{problem("fields[1].type", `unknown field type "datum"`)},
		},
		{
			name: "unknown field type still has its uses checked",
			change: func(d *Definition) {
				d.Fields[1].Type = "datum"
				d.Phases[2].StaffFields[0].ReadOnly = true
				d.Phases[2].StaffFields[0].Condition = "notiz"
			},
			want: Problems{
				problem("fields[1].type", `unknown field type "datum"`),
				problem("phases[2].staff_fields[0].required", "a read-only use cannot be required"),
				problem("phases[2].staff_fields[0].condition", "condition does not compile at 1:1: undeclared reference to 'notiz' (in container '')"),
			},
		},
		{
			name:   "empty field type",
			change: func(d *Definition) { d.Fields[1].Type = "" },
			want:   Problems{problem("fields[1].type", `unknown field type ""`)},
		},
		{
			name:   "empty label",
			change: func(d *Definition) { d.Fields[1].Label = " " },
			want:   Problems{problem("fields[1].label", "must not be empty")},
		},
		{
			name:   "select without options",
			change: func(d *Definition) { d.Fields[3].Options = nil },
			want:   Problems{problem("fields[3].options", "a select needs at least one option")},
		},
		{
			name: "select with duplicate and empty options",
			change: func(d *Definition) {
				d.Fields[3].Options = append(d.Fields[3].Options, Option{Value: "ja", Label: "Ja doch"}, Option{Label: "Leer"})
			},
			want: Problems{
				problem("fields[3].options[2].value", `duplicate option "ja"`),
				problem("fields[3].options[3].value", "must not be empty"),
			},
		},
		{
			name:   "options on a text field",
			change: func(d *Definition) { d.Fields[1].Options = []Option{{Value: "a", Label: "A"}} },
			want:   Problems{problem("fields[1].options", "only a select has options, not a text")},
		},
		{
			name:   "document field without templates",
			change: func(d *Definition) { d.Fields[4].Templates = nil },
			want:   Problems{problem("fields[4].templates", "a document field needs at least one document template")},
		},
		{
			name:   "document field with unknown template",
			change: func(d *Definition) { d.Fields[4].Templates = []string{"offerte_pdf", "vertrag_pdf"} },
			want:   Problems{problem("fields[4].templates[1]", `unknown document template "vertrag_pdf"`)},
		},
		{
			name: "document view without templates",
			change: func(d *Definition) {
				d.Fields = append(d.Fields, Field{Key: "vorschau", Type: TypeDocumentView, Label: "Vorschau"})
			},
			want: Problems{problem("fields[11].templates", "a document field needs at least one document template")},
		},
		{
			name:   "templates on a text field",
			change: func(d *Definition) { d.Fields[1].Templates = []string{"offerte_pdf"} },
			want:   Problems{problem("fields[1].templates", "only a document field offers templates, not a text")},
		},
		{
			name:   "extras on a checkbox",
			change: func(d *Definition) { d.Fields[5].Extras = []string{"AHK"} },
			want:   Problems{problem("fields[5].extras", "only a vehicle configuration restricts extras, not a checkbox")},
		},
		{
			name:   "select default not an option",
			change: func(d *Definition) { d.Fields[3].Default = "vielleicht" },
			want:   Problems{problem("fields[3].default", `"vielleicht" is not one of the options "ja", "nein"`)},
		},
		{
			name:   "checkbox default not a bool",
			change: func(d *Definition) { d.Fields[5].Default = "ja" },
			want:   Problems{problem("fields[5].default", "must be true or false, got a string")},
		},
		{
			name:   "text default a number",
			change: func(d *Definition) { d.Fields[1].Default = 42.0 },
			want:   Problems{problem("fields[1].default", "must be a string, got a number")},
		},
		{
			name:   "job status default unknown",
			change: func(d *Definition) { d.Fields[2].Default = "erledigt" },
			want:   Problems{problem("fields[2].default", `"erledigt" is not a status (open, sold, closed, canceled)`)},
		},
		{
			name:   "callback phone default not a number",
			change: func(d *Definition) { d.Fields[10].Default = "ruf mich an" },
			want:   Problems{problem("fields[10].default", `"ruf mich an" is not a phone number`)},
		},
		{
			name:   "vehicle configuration default outside its extras",
			change: func(d *Definition) { d.Fields[8].Default = []any{"AHK", "Schiebedach"} },
			want:   Problems{problem("fields[8].default", `[1]: "Schiebedach" is not an extra offered here`)},
		},
		{
			name:   "vehicle configuration default not a list",
			change: func(d *Definition) { d.Fields[8].Default = "AHK" },
			want:   Problems{problem("fields[8].default", "must be a list of extras, got a string")},
		},
		{
			name: "unrestricted vehicle configuration with a default not a list",
			change: func(d *Definition) {
				d.Fields[8].Extras = nil
				d.Fields[8].Default = true
			},
			want: Problems{problem("fields[8].default", "must be a list of extras, got a boolean")},
		},
		{
			name: "unrestricted vehicle configuration with any named default extra is fine",
			change: func(d *Definition) {
				d.Fields[8].Extras = nil
				d.Fields[8].Default = []any{"Schiebedach"}
			},
			want: nil,
		},
		{
			name:   "default on a document",
			change: func(d *Definition) { d.Fields[4].Default = "x" },
			want:   Problems{problem("fields[4].default", "a document_store field takes no default")},
		},
		{
			name:   "default on a static text",
			change: func(d *Definition) { d.Fields[0].Default = "x" },
			want:   Problems{problem("fields[0].default", "a static_text field takes no default")},
		},
		{
			name:   "field condition does not compile",
			change: func(d *Definition) { d.Fields[10].Condition = `customer.logged_in == "ja` },
			want:   Problems{problem("fields[10].condition", "condition does not compile at 1:23: Syntax error: token recognition error at: '\"ja'")},
		},
		// Messages.
		{
			name: "duplicate message template key",
			change: func(d *Definition) {
				d.Messages = append(d.Messages, MessageTemplate{Key: "willkommen", Channel: ChannelSMS, Body: "Hallo"})
			},
			want: Problems{problem("messages[2].key", `duplicate message template "willkommen"`)},
		},
		{
			name: "broken message template",
			change: func(d *Definition) {
				d.Messages = append(d.Messages,
					MessageTemplate{Channel: "fax", Body: " "},
					MessageTemplate{Key: "ohne_betreff", Channel: ChannelEmail, Body: "Hallo"})
			},
			want: Problems{
				problem("messages[2].key", "must not be empty"),
				problem("messages[2].channel", `"fax" is neither "email" nor "sms"`),
				problem("messages[2].body", "must not be empty"),
				problem("messages[3].subject", "an e-mail needs a subject"),
			},
		},
		{
			name: "broken translations",
			change: func(d *Definition) {
				d.Messages[0].Translations = map[string]MessageText{
					"fr": {Subject: "Bienvenue", Body: "Bonjour"},
					"en": {Body: " "},
				}
				d.Messages[1].Translations = map[string]MessageText{"en": {Subject: "ignored for SMS", Body: ""}}
			},
			want: Problems{
				problem("messages[0].translations.en.subject", "an e-mail needs a subject"),
				problem("messages[0].translations.en.body", "must not be empty"),
				problem("messages[0].translations.fr", `unknown language "fr"; known are en`),
				problem("messages[1].translations.en.body", "must not be empty"),
			},
		},
		// Many problems at once: each is reported, in definition order.
		{
			name: "all problems of a definition at once",
			change: func(d *Definition) {
				d.Fields[3].Options = nil                                                      // select without options
				d.Fields = append(d.Fields, Field{Key: "notiz", Type: TypeText, Label: "Dup"}) // duplicate field
				d.Fields[4].Templates = []string{"vertrag_pdf"}                                // unknown template
				d.Phases[0].Messages = []string{"begruessung"}                                 // unknown message
				d.Phases[1].CustomerFields[2].ReadOnly = true                                  // required + read-only
				d.Phases[1].CustomerFields = append(d.Phases[1].CustomerFields, FieldUse{Field: "status"})
				d.Phases[2].Condition = "fields.wunsch =="                 // does not compile
				d.Phases[3].CustomerFields[1].Field = "lieferwunsch"       // unknown field
				d.Phases[3].FollowUp = "versand"                           // loop with versand
				d.Phases[0].CustomerFields[1].Condition = `feld.x == true` // undeclared
			},
			want: Problems{
				problem("fields[3].options", "a select needs at least one option"),
				problem("fields[4].templates[0]", `unknown document template "vertrag_pdf"`),
				problem("fields[11].key", `duplicate field "notiz"`),
				problem("phases[0].customer_fields[1].condition", "condition does not compile at 1:1: undeclared reference to 'feld' (in container '')"),
				problem("phases[0].messages[0]", `unknown message template "begruessung"`),
				problem("phases[1].customer_fields[2].required", "a read-only use cannot be required"),
				problem("phases[1].customer_fields[4].field", "a job_status field cannot be used in the customer view"),
				problem("phases[2].condition", "condition does not compile at 1:17: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"),
				problem("phases[3].customer_fields[1].field", `unknown field "lieferwunsch"`),
				problem("phases[2].follow_up", "follow-ups loop: versand → abschluss → versand"),
				problem("phases[3].follow_up", "follow-ups loop: abschluss → versand → abschluss"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDefinition()
			tt.change(&d)
			got := d.Validate()
			require.Equal(t, tt.want, got, "problems:\n%s", formatProblems(got))
			for _, p := range got {
				require.NotEmpty(t, p.Path)
				require.NotEmpty(t, p.Message)
			}
		})
	}
}

func formatProblems(ps Problems) string {
	s := ""
	for _, p := range ps {
		s += "  " + p.String() + "\n"
	}
	return s
}

// The same field type rule holds for every staff-only type and no other: a field type
// used where it cannot work is refused in the customer view.
func TestTranslatedMessagesAreValid(t *testing.T) {
	d := testDefinition()
	d.Messages[0].Translations = map[string]MessageText{"en": {Subject: "Welcome", Body: "Hello {customer}"}}
	d.Messages[1].Translations = map[string]MessageText{"en": {Body: "Your offer is ready"}}
	require.Nil(t, d.Validate())
	require.Equal(t, MessageText{Subject: "Welcome", Body: "Hello {customer}"}, d.Messages[0].Text("en"))
	require.Equal(t, MessageText{Subject: "Willkommen", Body: "Guten Tag {kunde}"}, d.Messages[0].Text("de"))
	require.Equal(t, MessageText{Subject: "Willkommen", Body: "Guten Tag {kunde}"}, testDefinition().Messages[0].Text("en"),
		"without a translation the German text")
}

func TestValidateStaffOnlyTypesInCustomerView(t *testing.T) {
	for _, ft := range FieldTypes {
		t.Run(string(ft), func(t *testing.T) {
			d := testDefinition()
			f := Field{Key: "probe", Type: ft, Label: "Probe"}
			switch ft {
			case TypeSelect:
				f.Options = []Option{{Value: "a", Label: "A"}}
			case TypeDocumentView, TypeDocumentStore:
				f.Templates = []string{"offerte_pdf"}
			}
			d.Fields = append(d.Fields, f)
			d.Phases[0].CustomerFields = append(d.Phases[0].CustomerFields, FieldUse{Field: "probe"})
			got := d.Validate()
			if ft.StaffOnly() {
				require.Equal(t, Problems{problem("phases[0].customer_fields[2].field",
					"a %s field cannot be used in the customer view", ft)}, got)
				return
			}
			require.Nil(t, got)
		})
	}
	var staffOnly []FieldType
	for _, ft := range FieldTypes {
		if ft.StaffOnly() {
			staffOnly = append(staffOnly, ft)
		}
	}
	require.ElementsMatch(t, []FieldType{TypeJobStatus, TypeSuppressMessages, TypeLocation}, staffOnly)
}

// Required is refused on exactly the types a person cannot enter through a submit.
func TestValidateRequiredOnlyOnInputTypes(t *testing.T) {
	for _, ft := range FieldTypes {
		t.Run(string(ft), func(t *testing.T) {
			d := testDefinition()
			f := Field{Key: "probe", Type: ft, Label: "Probe"}
			switch ft {
			case TypeSelect:
				f.Options = []Option{{Value: "a", Label: "A"}}
			case TypeDocumentView, TypeDocumentStore:
				f.Templates = []string{"offerte_pdf"}
			}
			d.Fields = append(d.Fields, f)
			d.Phases[3].StaffFields = append(d.Phases[3].StaffFields, FieldUse{Field: "probe", Required: true})
			got := d.Validate()
			if ft.Input() {
				require.Nil(t, got)
				return
			}
			require.Equal(t, Problems{problem("phases[3].staff_fields[2].required", "a %s field cannot be required", ft)}, got)
		})
	}
}

func TestFieldTypeKnown(t *testing.T) {
	for _, ft := range FieldTypes {
		require.True(t, ft.Known(), ft)
	}
	for _, ft := range []FieldType{"", "Text", "date", "select "} {
		require.False(t, ft.Known(), ft)
	}
	require.Len(t, FieldTypes, 15)
}

func TestProblemsAsError(t *testing.T) {
	ps := Problems{
		problem("phases[3].customer_fields[1].field", `unknown field "lieferwunsch"`),
		problem("fields[2].options", "a select needs at least one option"),
	}
	require.Equal(t, `phases[3].customer_fields[1].field: unknown field "lieferwunsch"`, ps[0].String())
	require.Equal(t,
		`phases[3].customer_fields[1].field: unknown field "lieferwunsch"; fields[2].options: a select needs at least one option`,
		ps.Error())

	wrapped := fmt.Errorf("save: %w", ps)
	got, ok := AsProblems(wrapped)
	require.True(t, ok)
	require.Equal(t, ps, got)

	_, ok = AsProblems(errors.New("other"))
	require.False(t, ok)
	_, ok = AsProblems(nil)
	require.False(t, ok)

	// Problems travel as JSON with path and message.
	b, err := json.Marshal(ps[:1])
	require.NoError(t, err)
	require.JSONEq(t, `[{"path":"phases[3].customer_fields[1].field","message":"unknown field \"lieferwunsch\""}]`, string(b))
}

// The example from the product description: a definition referring to a field that does
// not exist names the exact place.
func TestValidateUnknownFieldExample(t *testing.T) {
	d := testDefinition()
	d.Phases[3].CustomerFields[1].Field = "lieferwunsch"
	require.EqualError(t, d.Validate(), `phases[3].customer_fields[1].field: unknown field "lieferwunsch"`)
}

// --- Catalog ---

func standardCatalog(t *testing.T) Catalog {
	t.Helper()
	c, err := Standard()
	require.NoError(t, err)
	return c
}

func indexOfField(t *testing.T, c Catalog, key string) int {
	t.Helper()
	for i, f := range c.Fields {
		if f.Key == key {
			return i
		}
	}
	t.Fatalf("no field %q", key)
	return -1
}

func indexOfPhase(t *testing.T, c Catalog, key string) int {
	t.Helper()
	for i, p := range c.Phases {
		if p.Key == key {
			return i
		}
	}
	t.Fatalf("no phase %q", key)
	return -1
}

func indexOfWorkflow(t *testing.T, c Catalog, key string) int {
	t.Helper()
	for i, w := range c.Workflows {
		if w.Key == key {
			return i
		}
	}
	t.Fatalf("no workflow %q", key)
	return -1
}

// ownWorkflowCatalog is the standard catalog plus a dealer's own field, an own phase that
// copies a standard phase and uses the own field, and an own workflow copying the
// master under a new key with the own phase in place of the standard one.
func ownWorkflowCatalog(t *testing.T) Catalog {
	t.Helper()
	c := standardCatalog(t)
	c.Fields = append(c.Fields, Field{Key: "wunschtermin", Type: TypeText, Label: "Wunschtermin"})

	master := c.Workflows[indexOfWorkflow(t, c, StandardMaster)]
	second := master.Phases[1]
	own := clonePhase(c.Phases[indexOfPhase(t, c, second)])
	own.Key = "eigene_phase"
	own.Name = "Eigene Phase"
	own.System = false
	own.CustomerFields = append(own.CustomerFields, FieldUse{Field: "wunschtermin"})
	own.StaffFields = append(own.StaffFields, FieldUse{Field: "wunschtermin", ReadOnly: true})
	c.Phases = append(c.Phases, own)

	wf := Workflow{Key: "mein_ablauf", Name: "Mein Ablauf", Phases: append([]string{}, master.Phases...)}
	wf.Phases[1] = own.Key
	c.Workflows = append(c.Workflows, wf)
	return c
}

func clonePhase(p Phase) Phase {
	p.StaffFields = append([]FieldUse{}, p.StaffFields...)
	p.CustomerFields = append([]FieldUse{}, p.CustomerFields...)
	p.Messages = append([]string{}, p.Messages...)
	return p
}

func TestValidateCatalog(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, c *Catalog)
		want   func(t *testing.T, c Catalog) Problems
	}{
		{
			name:   "standard catalog as is",
			change: func(t *testing.T, c *Catalog) {},
			want:   func(t *testing.T, c Catalog) Problems { return nil },
		},
		{
			name: "own workflow copying the standard one under a new key with an own field",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
			},
			want: func(t *testing.T, c Catalog) Problems { return nil },
		},
		{
			name: "system field label changed",
			change: func(t *testing.T, c *Catalog) {
				c.Fields[indexOfField(t, *c, "lieferart")].Label = "Lieferung?"
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d]", indexOfField(t, c, "lieferart")),
					`system field "lieferart" cannot be changed; copy it under a new key`)}
			},
		},
		{
			name: "system field option added",
			change: func(t *testing.T, c *Catalog) {
				i := indexOfField(t, *c, "lieferart")
				c.Fields[i].Options = append(append([]Option{}, c.Fields[i].Options...), Option{Value: "spedition", Label: "Spedition"})
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d]", indexOfField(t, c, "lieferart")),
					`system field "lieferart" cannot be changed; copy it under a new key`)}
			},
		},
		{
			name: "system flag dropped from a system field",
			change: func(t *testing.T, c *Catalog) {
				c.Fields[indexOfField(t, *c, "status")].System = false
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d]", indexOfField(t, c, "status")),
					`system field "status" cannot be changed; copy it under a new key`)}
			},
		},
		{
			name: "system phase name changed",
			change: func(t *testing.T, c *Catalog) {
				c.Phases[1].Name = "Unser Angebot"
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem("phases[1]", `system phase %q cannot be changed; copy it under a new key`, c.Phases[1].Key)}
			},
		},
		{
			name: "system phase gets an extra field use",
			change: func(t *testing.T, c *Catalog) {
				p := clonePhase(c.Phases[0])
				p.StaffFields = append(p.StaffFields, FieldUse{Field: "feedback_text"})
				c.Phases[0] = p
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem("phases[0]", `system phase %q cannot be changed; copy it under a new key`, c.Phases[0].Key)}
			},
		},
		{
			name: "system message template changed",
			change: func(t *testing.T, c *Catalog) {
				c.Messages[1].Subject = "Angebot!"
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem("messages[1]", `system message template %q cannot be changed; copy it under a new key`, c.Messages[1].Key)}
			},
		},
		{
			name: "system workflow name changed",
			change: func(t *testing.T, c *Catalog) {
				c.Workflows[indexOfWorkflow(t, *c, StandardBasic)].Name = "Einfach"
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d]", indexOfWorkflow(t, c, StandardBasic)),
					`system workflow "standard_basic" cannot be changed; copy it under a new key`)}
			},
		},
		{
			name: "system workflow phases changed",
			change: func(t *testing.T, c *Catalog) {
				i := indexOfWorkflow(t, *c, StandardMaster)
				c.Workflows[i].Phases = c.Workflows[i].Phases[:3]
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d]", indexOfWorkflow(t, c, StandardMaster)),
					`system workflow "standard_master" cannot be changed; copy it under a new key`)}
			},
		},
		{
			name: "own field claiming to be a system field",
			change: func(t *testing.T, c *Catalog) {
				c.Fields = append(c.Fields, Field{Key: "wunschtermin", Type: TypeText, Label: "Wunschtermin", System: true})
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d].system", len(c.Fields)-1), `own field "wunschtermin" cannot be a system field`)}
			},
		},
		{
			name: "own phase claiming to be a system phase",
			change: func(t *testing.T, c *Catalog) {
				c.Phases = append(c.Phases, Phase{Key: "probefahrt", Name: "Probefahrt", System: true})
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("phases[%d].system", len(c.Phases)-1), `own phase "probefahrt" cannot be a system phase`)}
			},
		},
		{
			name: "own workflow claiming to be a system workflow",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Workflows[len(c.Workflows)-1].System = true
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d].system", len(c.Workflows)-1), `own workflow "mein_ablauf" cannot be a system workflow`)}
			},
		},
		{
			name: "duplicate keys in the catalog",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Fields = append(c.Fields, Field{Key: "wunschtermin", Type: TypeText, Label: "Nochmal"})
				c.Phases = append(c.Phases, Phase{Key: "eigene_phase", Name: "Nochmal"})
				c.Workflows = append(c.Workflows, Workflow{Key: "mein_ablauf", Name: "Nochmal", Phases: []string{"eigene_phase"}})
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{
					problem(fmt.Sprintf("fields[%d].key", len(c.Fields)-1), `duplicate field "wunschtermin"`),
					problem(fmt.Sprintf("phases[%d].key", len(c.Phases)-1), `duplicate phase "eigene_phase"`),
					problem(fmt.Sprintf("workflows[%d].key", len(c.Workflows)-1), `duplicate workflow "mein_ablauf"`),
				}
			},
		},
		{
			name: "own workflow with an unknown phase",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Workflows[len(c.Workflows)-1].Phases[2] = "probefahrt"
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d].phases[2]", len(c.Workflows)-1), `unknown phase "probefahrt"`)}
			},
		},
		{
			name: "own workflow without a name",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Workflows[len(c.Workflows)-1].Name = ""
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d].name", len(c.Workflows)-1), "must not be empty")}
			},
		},
		{
			name: "own workflow without phases",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Workflows[len(c.Workflows)-1].Phases = nil
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("workflows[%d].phases", len(c.Workflows)-1), "must list at least one phase")}
			},
		},
		{
			name: "own phase using an unknown field, in an own workflow",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				p := &c.Phases[len(c.Phases)-1]
				p.CustomerFields[len(p.CustomerFields)-1].Field = "lieferwunsch"
			},
			want: func(t *testing.T, c Catalog) Problems {
				p := c.Phases[len(c.Phases)-1]
				return Problems{problem(fmt.Sprintf("workflows[%d].phases[1].customer_fields[%d].field", len(c.Workflows)-1, len(p.CustomerFields)-1),
					`unknown field "lieferwunsch"`)}
			},
		},
		{
			name: "own field problem is reported once at the catalog path",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Fields[len(c.Fields)-1] = Field{Key: "wunschtermin", Type: TypeSelect, Label: "Wunschtermin"}
				// A second own workflow using the same phase.
				wf := c.Workflows[len(c.Workflows)-1]
				wf.Key, wf.Name = "mein_zweiter_ablauf", "Mein zweiter Ablauf"
				c.Workflows = append(c.Workflows, wf)
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d].options", len(c.Fields)-1), "a select needs at least one option")}
			},
		},
		{
			name: "own field with an unknown document template",
			change: func(t *testing.T, c *Catalog) {
				c.Fields = append(c.Fields, Field{Key: "gutschein", Type: TypeDocumentStore, Label: "Gutschein", Templates: []string{"gutschein"}})
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{problem(fmt.Sprintf("fields[%d].templates[0]", len(c.Fields)-1), `unknown document template "gutschein"`)}
			},
		},
		{
			name: "everything at once",
			change: func(t *testing.T, c *Catalog) {
				*c = ownWorkflowCatalog(t)
				c.Fields[indexOfField(t, *c, "status")].Label = "Zustand"
				c.Fields = append(c.Fields, Field{Key: "geheim", Type: TypeCheckbox, Label: "Geheim", System: true})
				c.Phases[0].Name = "Erster Kontakt"
				p := &c.Phases[len(c.Phases)-1]
				p.Condition = "fields.wunschtermin ="
			},
			want: func(t *testing.T, c Catalog) Problems {
				return Problems{
					problem(fmt.Sprintf("fields[%d]", indexOfField(t, c, "status")), `system field "status" cannot be changed; copy it under a new key`),
					problem(fmt.Sprintf("fields[%d].system", len(c.Fields)-1), `own field "geheim" cannot be a system field`),
					problem("phases[0]", `system phase %q cannot be changed; copy it under a new key`, c.Phases[0].Key),
					problem(fmt.Sprintf("workflows[%d].phases[1].condition", len(c.Workflows)-1),
						"condition does not compile at 1:21: Syntax error: token recognition error at: '='"),
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			system := standardCatalog(t)
			c := standardCatalog(t)
			tt.change(t, &c)
			got := ValidateCatalog(c, system)
			require.Equal(t, tt.want(t, c), got, "problems:\n%s", formatProblems(got))
		})
	}
}

// The standard catalog is not changed by validating a changed copy of it.
func TestValidateCatalogDoesNotChangeSystem(t *testing.T) {
	system := standardCatalog(t)
	before, err := json.Marshal(system)
	require.NoError(t, err)
	c := ownWorkflowCatalog(t)
	c.Fields[0].Label = "anders"
	require.NotEmpty(t, ValidateCatalog(c, system))
	after, err := json.Marshal(system)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after))
}

// A catalog that went through JSON, as the store and the API keep it, still matches the
// system catalog.
func TestValidateCatalogAfterJSONRoundTrip(t *testing.T) {
	system := standardCatalog(t)
	c := ownWorkflowCatalog(t)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	var back Catalog
	require.NoError(t, json.Unmarshal(b, &back))
	require.Nil(t, ValidateCatalog(back, system))

	parsed, err := ParseCatalog(b)
	require.NoError(t, err)
	require.Nil(t, ValidateCatalog(parsed, system))
}

func TestParseCatalogRefusesUnknownKeys(t *testing.T) {
	_, err := ParseCatalog([]byte("fields:\n  - key: a\n    type: text\n    label: A\n    lable: typo\n"))
	require.ErrorContains(t, err, "parse catalog")
	require.ErrorContains(t, err, "lable")

	c, err := ParseCatalog([]byte("fields:\n  - key: a\n    type: text\n    label: A\n"))
	require.NoError(t, err)
	require.Equal(t, []Field{{Key: "a", Type: TypeText, Label: "A"}}, c.Fields)
}

func TestResolve(t *testing.T) {
	c := ownWorkflowCatalog(t)

	d, err := c.Resolve("mein_ablauf")
	require.NoError(t, err)
	require.Equal(t, "mein_ablauf", d.Workflow.Key)
	require.Len(t, d.Phases, len(d.Workflow.Phases))
	for i, p := range d.Phases {
		require.Equal(t, d.Workflow.Phases[i], p.Key)
	}
	// Only used fields and messages, in catalog order.
	used := map[string]bool{}
	for _, p := range d.Phases {
		for _, u := range append(append([]FieldUse{}, p.StaffFields...), p.CustomerFields...) {
			used[u.Field] = true
		}
	}
	require.Len(t, d.Fields, len(used))
	last := -1
	for _, f := range d.Fields {
		require.True(t, used[f.Key], f.Key)
		i := indexOfField(t, c, f.Key)
		require.Greater(t, i, last, "fields keep catalog order")
		last = i
	}
	_, ok := d.Field("wunschtermin")
	require.True(t, ok)
	require.Equal(t, c.Documents, d.Documents)
	require.Nil(t, d.Validate())

	_, err = c.Resolve("gibt_es_nicht")
	require.EqualError(t, err, `workflow: unknown workflow "gibt_es_nicht"`)

	c.Workflows[len(c.Workflows)-1].Phases = append(c.Workflows[len(c.Workflows)-1].Phases, "probefahrt", "testphase")
	_, err = c.Resolve("mein_ablauf")
	ps, ok := AsProblems(err)
	require.True(t, ok)
	n := len(c.Workflows[len(c.Workflows)-1].Phases)
	require.Equal(t, Problems{
		problem(fmt.Sprintf("workflow.phases[%d]", n-2), `unknown phase "probefahrt"`),
		problem(fmt.Sprintf("workflow.phases[%d]", n-1), `unknown phase "testphase"`),
	}, ps)
}

// --- Publish and hash ---

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestPublish(t *testing.T) {
	d := testDefinition()
	v, err := Publish(3, d)
	require.NoError(t, err)
	require.Equal(t, "testablauf", v.Workflow)
	require.Equal(t, 3, v.Number)
	require.Equal(t, Published, v.State)
	require.Regexp(t, hexHash, v.Hash)
	require.Equal(t, d, v.Definition)
	h, err := d.Hash()
	require.NoError(t, err)
	require.Equal(t, h, v.Hash)

	ref := Ref{Workflow: v.Workflow, Version: v.Number, Hash: v.Hash}
	require.Equal(t, "testablauf@3", ref.String())

	// Publishing the same definition again gives the same hash.
	v2, err := Publish(4, testDefinition())
	require.NoError(t, err)
	require.Equal(t, v.Hash, v2.Hash)
}

func TestPublishRefusesInvalidDefinition(t *testing.T) {
	d := testDefinition()
	d.Phases[3].CustomerFields[1].Field = "lieferwunsch"
	d.Fields[3].Options = nil
	v, err := Publish(1, d)
	require.Error(t, err)
	require.Equal(t, Version{}, v)
	ps, ok := AsProblems(err)
	require.True(t, ok, "error carries the problems: %v", err)
	require.Equal(t, Problems{
		problem("fields[3].options", "a select needs at least one option"),
		problem("phases[3].customer_fields[1].field", `unknown field "lieferwunsch"`),
	}, ps)
	require.EqualError(t, err, `publish testablauf: fields[3].options: a select needs at least one option; phases[3].customer_fields[1].field: unknown field "lieferwunsch"`)
}

func TestHashIsStableForEqualDefinitions(t *testing.T) {
	a, err := testDefinition().Hash()
	require.NoError(t, err)
	require.Regexp(t, hexHash, a)
	for range 20 {
		b, err := testDefinition().Hash()
		require.NoError(t, err)
		require.Equal(t, a, b)
	}

	// Through JSON, as the store keeps it.
	raw, err := json.Marshal(testDefinition())
	require.NoError(t, err)
	var back Definition
	require.NoError(t, json.Unmarshal(raw, &back))
	b, err := back.Hash()
	require.NoError(t, err)
	require.Equal(t, a, b)

	// Resolving the same workflow twice.
	for _, key := range []string{StandardMaster, StandardBasic} {
		d1, err := StandardDefinition(key)
		require.NoError(t, err)
		d2, err := StandardDefinition(key)
		require.NoError(t, err)
		h1, err := d1.Hash()
		require.NoError(t, err)
		h2, err := d2.Hash()
		require.NoError(t, err)
		require.Equal(t, h1, h2, key)
	}
}

func TestHashChangesWhenAnythingChanges(t *testing.T) {
	base, err := testDefinition().Hash()
	require.NoError(t, err)
	tests := []struct {
		name   string
		change func(d *Definition)
	}{
		{"workflow key", func(d *Definition) { d.Workflow.Key = "anderer_ablauf" }},
		{"workflow name", func(d *Definition) { d.Workflow.Name = "Anderer Ablauf" }},
		{"no customer emails", func(d *Definition) { d.Workflow.NoCustomerEmails = true }},
		{"workflow system flag", func(d *Definition) { d.Workflow.System = true }},
		{"phase name", func(d *Definition) { d.Phases[1].Name = "Angebot" }},
		{"phase condition", func(d *Definition) { d.Phases[2].Condition = `fields.wunsch != "nein"` }},
		{"phase follow-up", func(d *Definition) { d.Phases[2].FollowUp = "" }},
		{"phase turn", func(d *Definition) { d.Phases[0].Turn = TurnCustomer }},
		{"phase message list", func(d *Definition) { d.Phases[1].Messages = nil }},
		{"field use required", func(d *Definition) { d.Phases[3].CustomerFields[1].Required = false }},
		{"field use read-only", func(d *Definition) { d.Phases[0].StaffFields[0].ReadOnly = true }},
		{"field use label", func(d *Definition) { d.Phases[1].CustomerFields[3].Label = "Jetzt annehmen" }},
		{"field use hide label", func(d *Definition) { d.Phases[0].CustomerFields[0].HideLabel = false }},
		{"field use show after submit", func(d *Definition) { d.Phases[3].CustomerFields[0].ShowAfterSubmit = true }},
		{"field use condition", func(d *Definition) { d.Phases[3].CustomerFields[2].Condition = "" }},
		{"field use order", func(d *Definition) {
			d.Phases[0].StaffFields[0], d.Phases[0].StaffFields[1] = d.Phases[0].StaffFields[1], d.Phases[0].StaffFields[0]
		}},
		{"field label", func(d *Definition) { d.Fields[1].Label = "Notiz" }},
		{"field text", func(d *Definition) { d.Fields[0].Text = "Danke." }},
		{"field default", func(d *Definition) { d.Fields[2].Default = "sold" }},
		{"field option label", func(d *Definition) { d.Fields[3].Options[0].Label = "Ja, bitte" }},
		{"field extras", func(d *Definition) { d.Fields[8].Extras = []string{"AHK"} }},
		{"field templates", func(d *Definition) { d.Fields[4].Templates = []string{"rechnung_pdf"} }},
		{"field condition", func(d *Definition) { d.Fields[10].Condition = "" }},
		{"field type", func(d *Definition) { d.Fields[1].Type = TypeExternalMessage }},
		{"field order", func(d *Definition) { d.Fields[0], d.Fields[1] = d.Fields[1], d.Fields[0] }},
		{"message body", func(d *Definition) { d.Messages[0].Body = "Hallo {kunde}" }},
		{"message subject", func(d *Definition) { d.Messages[0].Subject = "Hallo" }},
		{"message channel", func(d *Definition) { d.Messages[1].Channel = ChannelEmail; d.Messages[1].Subject = "Offerte" }},
		{"message recipient", func(d *Definition) { d.Messages[1].Customer = false }},
		{"documents", func(d *Definition) { d.Documents = append(d.Documents, "vertrag_pdf") }},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDefinition()
			tt.change(&d)
			h, err := d.Hash()
			require.NoError(t, err)
			require.NotEqual(t, base, h)
			prev, dup := seen[h]
			require.False(t, dup, "same hash as %q", prev)
			seen[h] = tt.name

			// A changed valid definition publishes under its new hash.
			if len(d.Validate()) == 0 {
				v, err := Publish(2, d)
				require.NoError(t, err)
				require.Equal(t, h, v.Hash)
			}
		})
	}
}

func TestAcceptOnlyOnFileUploads(t *testing.T) {
	d, err := StandardDefinition(StandardMaster)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Fields {
		switch d.Fields[i].Key {
		case "unterlagen":
			d.Fields[i].Accept = []string{"application/pdf", "bild"}
		case "notiz_verkauf":
			d.Fields[i].Accept = []string{"text/plain"}
		}
	}
	got := d.Validate()
	var paths []string
	for _, p := range got {
		paths = append(paths, p.Path+": "+p.Message)
	}
	want := []string{
		fmt.Sprintf("fields[%d].accept: only a file upload accepts content types, not a text", fieldIndex(d, "notiz_verkauf")),
		fmt.Sprintf(`fields[%d].accept[1]: "bild" is not a content type like application/pdf`, fieldIndex(d, "unterlagen")),
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(want, paths) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func fieldIndex(d Definition, key string) int {
	for i, f := range d.Fields {
		if f.Key == key {
			return i
		}
	}
	return -1
}
