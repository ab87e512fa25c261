package catalog

import (
	"strings"
	"testing"
)

// Matching lowers ASCII letters only, so a translated pattern keeps the other capitals of its msgstr, and a text
// with them matches. strings.ToLower would lower "Користувач" and "БД" and never match.
func TestTranslationsKeepNonASCIICapitals(t *testing.T) {
	kept := 0
	for _, tr := range translations {
		for _, s := range tr.texts {
			if s != strings.ToLower(s) {
				kept++
			}
		}
	}
	if kept == 0 {
		t.Fatal("no translated pattern with a non-ASCII capital: this test tests nothing")
	}
	for _, c := range []struct {
		text string
		want Code
	}{
		// uk.po: "Peer authentication failed for user \"%s\"" -> "Користувач \"%s\" не пройшов автентифікацію Peer"
		{`psql: помилка: підключення до серверу через сокет "/var/run/postgresql/.s.PGSQL.5432" провалено: ФАТАЛЬНО:  Користувач "postgres" не пройшов автентифікацію Peer`, AuthPeerFailed},
		// ru.po: "too many connections for database \"%s\"" -> "слишком много подключений к БД \"%s\""
		{`2024-05-01 10:00:00.123 UTC [1234] ВАЖНО:  слишком много подключений к БД "orders"`, LimitsDBLimit},
		// ru.po: "Hot standby mode is disabled." -> "Режим горячего резерва отключён."
		{"ВАЖНО:  система БД не принимает подключения\nПОДРОБНОСТИ:  Режим горячего резерва отключён.", ServerRecovery},
		// glibc fr.po: "Temporary failure in name resolution" -> "Échec temporaire dans la résolution du nom"
		{`psql: erreur : n'a pas pu traduire le nom d'hôte « db.example.com » en adresse : Échec temporaire dans la résolution du nom`, DNSFailed},
	} {
		if got := Classify(Message{Text: c.text}); got.Code != c.want {
			t.Errorf("%s: got %s, want %s", c.text, got.Code, c.want)
		}
	}
}

// What a translation must not be taken for.
func TestTranslationsUnknownRatherThanWrong(t *testing.T) {
	for _, text := range []string{
		// A statement's error, in the server's words for ERROR: a GRANT, a DROP DATABASE.
		`FEHLER:  Rolle »reporting« existiert nicht`,
		`ОШИБКА:  база данных "orders_old" не существует`,
		`2024-05-01 10:00:00.123 UTC [1234] ERREUR:  le rôle « reporting » n'existe pas`,
		`오류:  "orders_old" 데이터베이스 없음`,
		// libpq's "could not translate host name" with a resolver answer nobody here knows: not found, or failed?
		`psql: Fehler: konnte Hostnamen »db.example.com« nicht in Adresse übersetzen: Unbekannter Fehler`,
		// Russian "timeout" alone is a statement's time-out too, not libpq's "timeout expired".
		`ОШИБКА:  выполнение оператора отменено из-за тайм-аута`,
	} {
		if got := Classify(Message{Text: text}); got.Code != Unknown {
			t.Errorf("%s: got %s, want unknown", text, got.Code)
		}
	}
}

// A regular expression with an upper-case ASCII letter outside an escape never matches a lowered text.
func TestUpperOutsideEscapes(t *testing.T) {
	for rx, want := range map[string]bool{`dial tcp \S+: i/o timeout`: false, `\d+ms \(total=0,`: false, `Role ".*"`: true, `БД`: false} {
		if got := upperOutsideEscapes(rx); got != want {
			t.Errorf("upperOutsideEscapes(%q) = %v, want %v", rx, got, want)
		}
	}
}
