package catalog

import "fmt"

// translations are the words of PostgreSQL's own translations for the connection failures clients meet most, so that
// a message from a server or a libpq running in another language is recognised without a SQLSTATE (psql prints none:
// `psql: Fehler: Verbindung zum Server auf Socket »…« fehlgeschlagen: FATAL:  Passwort-Authentifizierung für
// Benutzer »app« fehlgeschlagen`). They are added to the matchers of their cause (see withTranslations).
//
// Each row is one English msgid, with its msgstr in every language that has one: the fixed parts of the msgstr of
// PostgreSQL 15 (postgres/postgres src/backend/po/LANG.po for the server, src/interfaces/libpq/po/LANG.po for libpq;
// the catalogues Debian's postgresql-15 ships as postgres-15.mo and libpq5-15.mo), split at the placeholders.
// A msgstr with one fixed part is a substring; with several, a regular expression that joins them with .{0,80} for
// each placeholder between. The quotes around a placeholder are left out (they differ between releases: German used
// „%s“ before »%s«). Of a msgstr that breaks its line (fr: pg_hba.conf, reserved slots; libpq's hints), the first
// line only: a log reader may take the next as a message of its own. As with every pattern, ASCII letters are lower
// case and other letters as the msgstr has them: matching lowers ASCII only (lowerASCII), so "БД", "Режим" and
// "Échec" stay as they are.
//
// Left out on purpose:
//   - libpq's "could not translate host name \"%s\" to address: %s" alone: its %s is the resolver's answer, which
//     says whether the name does not exist or the lookup failed. It counts joined to glibc's translated "Name or
//     service not known" and "No address associated with hostname" (glibc po/LANG.po, Debian's libc-l10n libc.mo),
//     for dns.not_found; glibc's "Temporary failure in name resolution" is dns.failed wherever it stands.
//   - libpq's "timeout expired" where its translation is the bare word "timeout" (ru "тайм-аут", ko "시간 초과"): it
//     counts only after libpq's "... failed: ", as libpq prints it; alone it is also a statement's time-out.
//   - "fe_sendauth: no password supplied": libpq does not translate it, and "fe_sendauth" matches it in any language.
var translations = []translation{
	// The server: src/backend/po/LANG.po.
	{code: AuthPasswordFailed, msgid: `password authentication failed for user "%s"`, texts: []string{
		"re:passwort-authentifizierung für benutzer.{0,80}fehlgeschlagen",      // de
		"la autentificación password falló para el usuario",                    // es
		"authentification par mot de passe échouée pour l'utilisateur",         // fr
		"autenticazione con password fallita per l'utente",                     // it
		"re:ユーザー.{0,80}のパスワード認証に失敗しました",                                        // ja
		"re:사용자.{0,80}의 password 인증을 실패했습니다",                                   // ko
		"re:пользователь.{0,80}не прошёл проверку подлинности \\(по паролю\\)", // ru
		"lösenordsautentisering misslyckades för användare",                    // sv
		"re:користувач.{0,80}не пройшов автентифікацію за допомогою пароля",    // uk
		"re:用户.{0,80}password 认证失败",                                            // zh_CN
		"re:პაროლით ავთენტიფიკაცია მომხმარებლისთვის.{0,80}ვერ მოხერხდა",        // ka
	}},
	{code: AuthPeerFailed, sqlstate: "28000", msgid: `Peer authentication failed for user "%s"`, texts: []string{
		"re:peer-authentifizierung für benutzer.{0,80}fehlgeschlagen",     // de
		"la autentificación peer falló para el usuario",                   // es
		"authentification peer échouée pour l'utilisateur",                // fr
		"autenticazione peer fallita per l'utente",                        // it
		"re:ユーザー.{0,80}で対向\\(peer\\)認証に失敗しました",                            // ja
		"re:사용자.{0,80}의 peer 인증을 실패했습니다",                                  // ko
		"re:пользователь.{0,80}не прошёл проверку подлинности \\(peer\\)", // ru
		"peer-autentisering misslyckades för användare",                   // sv
		"re:Користувач.{0,80}не пройшов автентифікацію peer",              // uk
		"re:对用户.{0,80}的对等认证失败",                                            // zh_CN
		"re:პარტნიორის ავთენტიფიკაცია მომხმარებლისთვის.{0,80}ვერ მოხერხდა", // ka
	}},
	{code: AuthPeerFailed, sqlstate: "28000", msgid: `Ident authentication failed for user "%s"`, texts: []string{
		"re:ident-authentifizierung für benutzer.{0,80}fehlgeschlagen",     // de
		"la autentificación ident falló para el usuario",                   // es
		"Échec de l'authentification ident pour l'utilisateur",             // fr
		"autenticazione ident fallita per l'utente",                        // it
		"re:ユーザー.{0,80}のident認証に失敗しました",                                    // ja
		"re:사용자.{0,80}의 ident 인증을 실패했습니다",                                  // ko
		"re:пользователь.{0,80}не прошёл проверку подлинности \\(ident\\)", // ru
		"ident-autentisering misslyckades för användare",                   // sv
		"re:Користувач.{0,80}не пройшов автентифікацію ident",              // uk
		"re:用户.{0,80}ident 认证失败",                                           // zh_CN
		"re:იდენტიფიკაციით ავთენტიფიკაცია მომხმარებლისთვის.{0,80}ვერ მოხერხდა", // ka
	}},
	{code: AuthHBARejected, sqlstate: "28000", msgid: `no pg_hba.conf entry for host "%s", user "%s", database "%s", %s`, texts: []string{
		"re:kein pg_hba\\.conf-eintrag für host.{0,80}, benutzer.{0,80}, datenbank.{0,80},",                     // de
		"re:no hay una línea en pg_hba\\.conf para.{0,80}, usuario.{0,80}, base de datos.{0,80},",               // es
		"re:aucune entrée dans pg_hba\\.conf pour l'hôte.{0,80}, utilisateur",                                   // fr
		"re:nessuna voce in pg_hba\\.conf per l'host.{0,80}, utente.{0,80}, database.{0,80},",                   // it
		"re:pg_hba\\.conf にホスト.{0,80}、ユーザー.{0,80}、データベース.{0,80},.{0,80}用のエントリがありません",                            // ja
		"re:호스트.{0,80}, 사용자.{0,80}, 데이터베이스.{0,80},.{0,80}연결에 대한 설정이 pg_hba\\.conf 파일에 없습니다",                     // ko
		"re:в pg_hba\\.conf нет записи для компьютера.{0,80}, пользователя.{0,80}, базы.{0,80},",                // ru
		"re:ingen rad i pg_hba\\.conf för värd.{0,80}, användare.{0,80}, databas.{0,80},",                       // sv
		"re:в pg_hba\\.conf немає запису для хосту.{0,80}, користувача.{0,80}, бази даних.{0,80},",              // uk
		"re:没有用于主机.{0,80}, 用户.{0,80}, 数据库.{0,80},.{0,80}的 pg_hba\\.conf 记录",                                     // zh_CN
		"re:pg_hba\\.conf-ში ჩანაწერი ჰოსტისთვის.{0,80}მომხმარებელი.{0,80}, ბაზა.{0,80},.{0,80}აღმოჩენილი არაა", // ka
	}},
	{code: AuthRoleNotFound, sqlstate: "28000", fatal: true, msgid: `role "%s" does not exist`, texts: []string{
		"re:rolle.{0,80}existiert nicht", // de
		"no existe el rol",               // es
		"re:le rôle.{0,80}n'existe pas",  // fr
		"re:il ruolo.{0,80}non esiste",   // it
		"re:ロール.{0,80}は存在しません",           // ja
		"롤(role) 없음",                     // ko
		"re:роль.{0,80}не существует",    // ru
		"re:rollen.{0,80}finns inte",     // sv
		"re:роль.{0,80}не існує",         // uk
		"re:角色.{0,80}不存在",                // zh_CN
		"როლი არ არსებობს",               // ka
	}},
	{code: AuthLoginNotPermitted, sqlstate: "28000", msgid: `role "%s" is not permitted to log in`, texts: []string{
		"re:rolle.{0,80}hat keine berechtigung zum einloggen",    // de
		"re:al rol.{0,80}no se le permite conectarse",            // es
		"re:le rôle.{0,80}n'est pas autorisé à se connecter",     // fr
		"re:al ruolo.{0,80}non è consentito effettuare il login", // it
		"re:ロール.{0,80}はログインが許可されません",                             // ja
		"롤은 접속을 허용하지 않음",                                         // ko
		"re:для роли.{0,80}вход запрещён",                        // ru
		"re:roll.{0,80}tillåts inte logga in",                    // sv
		"re:для ролі.{0,80}вхід не дозволений",                   // uk
		"re:不允许角色.{0,80}进行登录",                                    // zh_CN
		"როლს შესვლის უფლება არ აქვს",                            // ka
	}},
	{code: DBNotFound, fatal: true, msgid: `database "%s" does not exist`, texts: []string{
		"re:datenbank.{0,80}existiert nicht",       // de
		"no existe la base de datos",               // es
		"re:la base de données.{0,80}n'existe pas", // fr
		"re:il database.{0,80}non esiste",          // it
		"re:データベース.{0,80}は存在しません",                  // ja
		"데이터베이스 없음",                                // ko
		"re:база данных.{0,80}не существует",       // ru
		"re:databasen.{0,80}existerar inte",        // sv
		"re:бази даних.{0,80}не існує",             // uk
		"re:数据库.{0,80}不存在",                         // zh_CN
		"re:მონაცემთა ბაზა.{0,80}არ არსებობს",      // ka
	}},
	{code: DBNotAccepting, sqlstate: "55000", msgid: `database "%s" is not currently accepting connections`, texts: []string{
		"re:datenbank.{0,80}akzeptiert gegenwärtig keine verbindungen",  // de
		"re:la base de datos.{0,80}no acepta conexiones",                // es
		"re:la base de données.{0,80}n'accepte plus les connexions",     // fr
		"re:il database.{0,80}attualmente non accetta connessioni",      // it
		"re:現在データベース.{0,80}は接続を受け付けません",                                 // ja
		"데이터베이스는 현재 접속을 허용하지 않습니다",                                      // ko
		"re:база.{0,80}не принимает подключения в данный момент",        // ru
		"re:databasen.{0,80}tar för närvarande inte emot uppkopplingar", // sv
		"re:база даних.{0,80}не приймає підключення в даний момент",     // uk
		"re:数据库.{0,80}当前不接受联接",                                          // zh_CN
		"re:ბაზა.{0,80}ამჟამად მიერთებებს არ იღებს",                     // ka
	}},
	{code: LimitsTooManyConnections, msgid: `sorry, too many clients already`, texts: []string{
		"tut mir leid, schon zu viele verbindungen",   // de
		"lo siento, ya tenemos demasiados clientes",   // es
		"désolé, trop de clients sont déjà connectés", // fr
		"spiacente, troppi client già connessi",       // it
		"現在クライアント数が多すぎます",                             // ja
		"최대 동시 접속자 수를 초과했습니다",                         // ko
		"извините, уже слишком много клиентов",        // ru
		"ledsen, för många klienter",                  // sv
		"вибачте, вже забагато клієнтів",              // uk
		"对不起, 已经有太多的客户",                               // zh_CN
		"უკაცრავად, უკვე მეტისმეტად ბევრი კლიენტია", // ka
	}},
	{code: LimitsReservedSlots, sqlstate: "53300", msgid: `remaining connection slots are reserved for non-replication superuser connections`, texts: []string{
		"die verbleibenden verbindungen sind für superuser auf nicht-replikationsverbindungen reserviert",     // de
		"las conexiones restantes están reservadas a superusuarios y no de replicación",                       // es
		"les emplacements de connexions restants sont réservés pour les connexions",                           // fr
		"i rimanenti slot di connessione sono riservati a connessioni di superutenti non di replica",          // it
		"残りの接続スロットはレプリケーションユーザーではないスーパーユーザー用に予約されています",                                                        // ja
		"남은 연결 슬롯은 non-replication 슈퍼유저 연결용으로 남겨 놓았음",                                                         // ko
		"оставшиеся слоты подключений зарезервированы для подключений суперпользователя (не для репликации)",  // ru
		"resterande anslutningsslottar är reserverade för superuser-anslutningar utan replikering",            // sv
		"слоти підключень, які залишились, зарезервовані для підключень суперкористувача (не для реплікації)", // uk
		"已保留的连接位置为执行非复制请求的超级用户预留",                                                                             // zh_CN
	}},
	{code: LimitsRoleLimit, sqlstate: "53300", msgid: `too many connections for role "%s"`, texts: []string{
		"zu viele verbindungen von rolle",    // de
		"demasiadas conexiones para el rol",  // es
		"trop de connexions pour le rôle",    // fr
		"troppe connessioni per il ruolo",    // it
		"re:ロール.{0,80}からの接続が多すぎます",           // ja
		"롤의 최대 동시 접속수를 초과했습니다",               // ko
		"слишком много подключений для роли", // ru
		"för många uppkopplingar för roll",   // sv
		"занадто багато підключень для ролі", // uk
		"re:由角色.{0,80}发起的连接太多了",              // zh_CN
		"მეტისმეტად ბევრი კავშირი როლისთვის", // ka
	}},
	{code: LimitsDBLimit, sqlstate: "53300", msgid: `too many connections for database "%s"`, texts: []string{
		"zu viele verbindungen für datenbank",         // de
		"demasiadas conexiones para la base de datos", // es
		"trop de connexions pour la base de données",  // fr
		"troppe connessioni al database",              // it
		"re:データベース.{0,80}への接続が多すぎます",                  // ja
		"데이터베이스 최대 접속수를 초과했습니다",                       // ko
		"слишком много подключений к БД",              // ru
		"för många uppkopplingar till databasen",      // sv
		"занадто багато підключень до бази даних",     // uk
		"re:到数据库.{0,80}的连接太多了",                        // zh_CN
		"ძალიან ბევრი კავშირი ბაზისთვის",              // ka
	}},
	{code: ServerStartingUp, sqlstate: "57P03", msgid: `the database system is starting up`, texts: []string{
		"das datenbanksystem startet",                  // de
		"el sistema de base de datos está iniciándose", // es
		"le système de bases de données se lance",      // fr
		"il database si sta avviando",                  // it
		"データベースシステムは起動処理中です",                           // ja
		"데이터베이스 시스템이 새로 가동 중입니다",                       // ko
		"система баз данных запускается",               // ru
		"databassystemet startar upp",                  // sv
		"система бази даних запускається",              // uk
		"数据库系统启动中",                                     // zh_CN
		"მიმდინარეობს მონაცემთა ბაზის სისტემის გაშვება", // ka
	}},
	{code: ServerStartingUp, sqlstate: "57P03", msgid: `the database system is not yet accepting connections`, texts: []string{
		"das datenbanksystem nimmt noch keine verbindungen an",              // de
		"el sistema de bases de datos aún no está aceptando conexiones",     // es
		"le système de bases de données n'accepte pas encore de connexions", // fr
		"il sistema di database non accetta ancora connessioni",             // it
		"データベースシステムはまだ接続を受け付けていません",                                         // ja
		"해당 데이터베이스 시스템은 아직 접속을 허용하지 않습니다",                                   // ko
		"система БД ещё не принимает подключения",                           // ru
		"databassystemet tar ännu inte emot anslutningar",                   // sv
		"система бази даних ще не приймає підключення",                      // uk
		"მონაცემთა ბაზის სისტემა ჯერ მიერთებებს არ იღებს",                   // ka
	}},
	{code: ServerShuttingDown, sqlstate: "57P03", msgid: `the database system is shutting down`, texts: []string{
		"das datenbanksystem fährt herunter",          // de
		"el sistema de base de datos está apagándose", // es
		"le système de base de données s'arrête",      // fr
		"il database si sta spegnendo",                // it
		"データベースシステムはシャットダウンしています",                     // ja
		"데이터베이스 시스템이 중지 중입니다",                         // ko
		"система баз данных останавливается",          // ru
		"databassystemet stänger ner",                 // sv
		"система бази даних завершує роботу",          // uk
		"数据库系统停止中",                                    // zh_CN
		"მონაცემთა ბაზის სისტემა ითიშება",             // ka
	}},
	{code: ServerRecovery, sqlstate: "57P03", msgid: `the database system is in recovery mode`, texts: []string{
		"das datenbanksystem ist im wiederherstellungsmodus",          // de
		"el sistema de base de datos está en modo de recuperación",    // es
		"le système de bases de données est en cours de restauration", // fr
		"il database è in modalità di ripristino",                     // it
		"データベースシステムはリカバリモードです",                                        // ja
		"데이터베이스 시스템이 자동 복구 작업 중입니다",                                   // ko
		"система баз данных в режиме восстановления",                  // ru
		"databassystemet är återställningsläge",                       // sv
		"система бази даних у режимі відновлення",                     // uk
		"数据库系统在恢复模式中",                                                 // zh_CN
		"მონაცემთა ბაზის სისტემა აღდგენის რეჟიმშია",                   // ka
	}},
	{code: ServerRecovery, msgid: `Hot standby mode is disabled.`, texts: []string{
		"hot-standby-modus ist deaktiviert",          // de
		"el modo hot standby está desactivado",       // es
		"le mode hot standby est désactivé",          // fr
		"la modalità standby a caldo è disabilitata", // it
		"ホットスタンバイモードは無効です",                           // ja
		"hot standby 모드가 비활성화 되었습니다",                 // ko
		"Режим горячего резерва отключён",            // ru
		"hot standby-läge är avstängt",               // sv
		"Режим hot standby вимкнений",                // uk
		"ცხელი ლოდინის რეჟიმი გამორთულია",            // ka
	}},
	{code: ServerTerminated, msgid: `terminating connection due to administrator command`, texts: []string{
		"verbindung wird abgebrochen aufgrund von anweisung des administrators", // de
		"terminando la conexión debido a una orden del administrador",           // es
		"arrêt des connexions suite à la demande de l'administrateur",           // fr
		"interruzione della connessione su comando dell'amministratore",         // it
		"管理者コマンドにより接続を終了しています",                                                  // ja
		"관리자 요청에 의해서 연결을 끝냅니다",                                                  // ko
		"закрытие подключения по команде администратора",                        // ru
		"avslutar anslutning på grund av ett administratörskommando",            // sv
		"завершення підключення по команді адміністратора",                      // uk
		"由于管理员命令中断联接",                                                           // zh_CN
		"მიერთების შეწყვეტა ადმინისტრატორის ბრძანების გამო",                     // ka
	}},
	{code: ServerReadOnlyTx, msgid: `cannot execute %s in a read-only transaction`, texts: []string{
		"kann nicht in einer read-only-transaktion ausgeführt werden",         // de
		"re:no se puede ejecutar.{0,80}en una transacción de sólo lectura",    // es
		"re:ne peut pas exécuter.{0,80}dans une transaction en lecture seule", // fr
		"re:non è possibile eseguire.{0,80}in una transazione a sola lettura", // it
		"re:リードオンリーのトランザクションでは.{0,80}を実行できません",                                // ja
		"re:읽기 전용 트랜잭션에서는.{0,80}명령을 실행할 수 없습니다",                               // ko
		"в транзакции в режиме \"только чтение\" нельзя выполнить",            // ru
		"re:kan inte köra.{0,80}i read-only-transaktion",                      // sv
		"re:не можна виконати.{0,80}в транзакції \"лише для читання",          // uk
		"不能在一个只读模式的事务中执行",                                                     // zh_CN
	}},
	// libpq: src/interfaces/libpq/po/LANG.po (and glibc po/LANG.po for the resolver).
	{code: ConnReset, msgid: `server closed the connection unexpectedly`, texts: []string{
		"server beendete die verbindung unerwartet",                // de
		"el servidor ha cerrado la conexión inesperadamente",       // es
		"la connexion au serveur a été coupée de façon inattendue", // fr
		"il server ha chiuso la connessione inaspettatamente",      // it
		"サーバーとの接続が想定外にクローズされました",                                   // ja
		"서버가 갑자기 연결을 닫았음",                                          // ko
		"сервер неожиданно закрыл соединение",                      // ru
		"servern stängde oväntat ner uppkopplingen",                // sv
		"сервер неочікувано закрив підключення",                    // uk
		"服务器意外地关闭了联接",                                              // zh_CN
		"სერვერმა კავშირი მოულოდნელად დახურა",                      // ka
	}},
	{code: TLSNotSupported, msgid: `server does not support SSL, but SSL was required`, texts: []string{
		"server unterstützt kein ssl, aber ssl wurde verlangt",             // de
		"el servidor no soporta ssl, pero ssl es requerida",                // es
		"le serveur ne supporte pas ssl alors que ssl était réclamé",       // fr
		"il server non supporta ssl, ma ssl è stato richiesto",             // it
		"サーバーはsslをサポートしていませんが、sslが要求されました",                                 // ja
		"서버가 ssl 기능을 지원하지 않는데, ssl 기능을 요구했음",                               // ko
		"затребовано подключение через ssl, но сервер не поддерживает ssl", // ru
		"ssl stöds inte av servern, men ssl krävdes",                       // sv
		"сервер не підтримує протокол ssl, але протокол ssl вимагається",   // uk
		"服务器不支持 ssl, 但是要求使用 ssl",                                           // zh_CN
		"სერვერს ssl-ის მხარდაჭერა არ გააჩნია, მაგრამ ssl-ი აუცილებელია",   // ka
	}},
	{code: TCPTimeout, msgid: `timeout expired`, texts: []string{
		"timeout abgelaufen",       // de
		"tiempo de espera agotado", // es
		"le délai est dépassé",     // fr
		"timeout scaduto",          // it
		"タイムアウト期間が過ぎました",           // ja
		"서버 접속 할 수 없음: 시간 초과",      // ko
		"не удалось: тайм-аут",     // ru
		"timeout utgången",         // sv
		"тайм-аут минув",           // uk
		"超时满",                      // zh_CN
		"მოლოდინის დრო გავიდა",     // ka
	}},
	{code: DNSNotFound, msgid: `could not translate host name "%s" to address: %s`, texts: []string{
		"re:konnte hostnamen.{0,80}nicht in adresse übersetzen: der name oder der dienst ist nicht bekannt",      // de
		"re:konnte hostnamen.{0,80}nicht in adresse übersetzen: zu diesem hostnamen gehört keine adresse",        // de
		"re:no se pudo traducir el nombre.{0,80}a una dirección: nombre o servicio desconocido",                  // es
		"re:no se pudo traducir el nombre.{0,80}a una dirección: no existe ninguna dirección asociada al nombre", // es
		"re:n'a pas pu traduire le nom d'hôte.{0,80}en adresse : nom ou service inconnu",                         // fr
		"re:n'a pas pu traduire le nom d'hôte.{0,80}en adresse : aucune adresse associée avec le nom de l'hôte",  // fr
		"re:conversione del nome host.{0,80}in indirizzo fallita: nome o servizio sconosciuto",                   // it
		"re:conversione del nome host.{0,80}in indirizzo fallita: nessun indirizzo associato al nome host",       // it
		"re:ホスト名.{0,80}をアドレスに変換できませんでした: 名前またはサービスが不明です",                                                         // ja
		"re:ホスト名.{0,80}をアドレスに変換できませんでした: ホスト名にアドレスが割り当てられていません",                                                  // ja
		"호스트 이름을 전송할 수 없습니다: 대상 주소: 이름 혹은 서비스를 알 수 없습니다",                                                         // ko
		"호스트 이름을 전송할 수 없습니다: 대상 주소: 호스트이름과 대응되는 주소가 없음",                                                          // ko
		"re:преобразовать имя.{0,80}в адрес не удалось: Неизвестное имя или служба",                              // ru
		"re:преобразовать имя.{0,80}в адрес не удалось: С именем узла не связано ни одного адреса",               // ru
		"re:kunde inte översätta värdnamn.{0,80}till adress: namn eller tjänst okänd",                            // sv
		"re:kunde inte översätta värdnamn.{0,80}till adress: ingen adress associerad med värdnamn",               // sv
		"re:не вдалося перекласти ім’я хоста.{0,80}в адресу: Невідома назва чи сервіс",                           // uk
		"re:не вдалося перекласти ім’я хоста.{0,80}в адресу: З даною назвою вузла не пов'язано жодної адреси",    // uk
		"re:无法解释主机名.{0,80}到地址: 未知的名称或服务",                                                                         // zh_CN
		"re:无法解释主机名.{0,80}到地址: 没有与主机名关联的地址",                                                                      // zh_CN
	}},
	{code: DNSFailed, msgid: `Temporary failure in name resolution`, texts: []string{
		"temporärer fehler bei der namensauflösung",    // de
		"fallo temporal en la resolución del nombre",   // es
		"Échec temporaire dans la résolution du nom",   // fr
		"errore temporaneo nella risoluzione del nome", // it
		"名前解決に一時的に失敗しました",                              // ja
		"name resolution에서 일시적인 실패",                    // ko
		"Временный сбой в разрешении имен",             // ru
		"namnuppslagning misslyckades temporärt",       // sv
		"Тимчасова помилка розв'язання назв",           // uk
		"域名解析暂时失败",                                     // zh_CN
	}},
}

// translation is one msgid's translations for a cause.
type translation struct {
	code Code
	// sqlstate, when set, makes the texts count with that SQLSTATE too, as the cause's English words do: without it
	// a cause that names the SQLSTATE alone (auth.rejected for 28000, server.recovery for 57P03, ...) would win.
	sqlstate string
	fatal    bool // see matcher.fatal
	msgid    string
	texts    []string
}

// withTranslations adds to each cause a matcher for the texts of its translations, and one with the SQLSTATE where
// the translation names one.
func withTranslations(causes []Cause) []Cause {
	for _, t := range translations {
		i := 0
		for i < len(causes) && causes[i].Code != t.code {
			i++
		}
		if i == len(causes) {
			panic(fmt.Sprintf("catalog: translation of %q: no cause %s", t.msgid, t.code))
		}
		c := &causes[i]
		c.matchers = append(c.matchers, matcher{text: t.texts, fatal: t.fatal})
		if t.sqlstate != "" {
			c.matchers = append(c.matchers, matcher{sqlstate: t.sqlstate, text: t.texts})
		}
	}
	return causes
}
