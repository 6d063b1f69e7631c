package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/sideeffects"
)

// effectSettingsFromEnv reads the settings of `jobmanager worker` and `api`. A group of
// settings entirely absent leaves its side effect unconfigured; one given in part is an
// error naming what is missing, so a typo does not silently switch e-mail off.
func effectSettingsFromEnv() (sideeffects.Settings, error) {
	es := sideeffects.Settings{
		SMSURL: os.Getenv("SMS_URL"), SMSToken: os.Getenv("SMS_TOKEN"),
		WebhookSecret: os.Getenv("BEZAHL_WEBHOOK_SECRET"), PublicURL: strings.TrimRight(os.Getenv("PUBLIC_URL"), "/"),
	}
	var problems []string
	if missing := partial("SMTP_HOST", "SMTP_FROM"); missing != "" {
		problems = append(problems, missing)
	} else if host := os.Getenv("SMTP_HOST"); host != "" {
		port := 587
		if p := os.Getenv("SMTP_PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				problems = append(problems, fmt.Sprintf("SMTP_PORT %q is not a number", p))
			}
			port = n
		}
		tls := mail.TLSPolicy(envOr("SMTP_TLS", string(mail.TLSMandatory)))
		es.SMTP = &mail.Settings{Host: host, Port: port, TLS: tls, Username: os.Getenv("SMTP_USER"),
			Password: os.Getenv("SMTP_PASSWORD"), From: os.Getenv("SMTP_FROM")}
		if err := es.SMTP.Validate(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if missing := partial("SMS_URL", "SMS_TOKEN"); missing != "" {
		problems = append(problems, missing)
	}
	if missing := partial("BEZAHL_URL", "BEZAHL_TOKEN", "BEZAHL_ORG"); missing != "" {
		problems = append(problems, missing)
	} else if u := os.Getenv("BEZAHL_URL"); u != "" {
		es.Bezahl = &bezahl.Client{BaseURL: u, Token: os.Getenv("BEZAHL_TOKEN"), OrgID: os.Getenv("BEZAHL_ORG")}
	}
	if box, err := secrets.FromEnv(); err != nil {
		problems = append(problems, err.Error())
	} else {
		es.Secrets = box
	}
	if len(problems) > 0 {
		return sideeffects.Settings{}, fmt.Errorf("side effect settings: %s", strings.Join(problems, "; "))
	}
	return es, nil
}

// partial names the variables missing from a group of which some are set; "" when
// all or none are.
func partial(names ...string) string {
	var set, unset []string
	for _, n := range names {
		if os.Getenv(n) != "" {
			set = append(set, n)
		} else {
			unset = append(unset, n)
		}
	}
	if len(set) == 0 || len(unset) == 0 {
		return ""
	}
	return fmt.Sprintf("%s set but %s not", strings.Join(set, ", "), strings.Join(unset, ", "))
}
