//! A search's budget counts its index look-ups, found something or not: the LDAP server
//! on a free port with a small budget, searched over TCP, on SQLite and PostgreSQL.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp, LdapResult, LdapResultCode,
    LdapSearchRequest, LdapSearchScope,
};
use switchboard_app::{App, AppConfig, Caller, DomainInput, UserInput};
use switchboard_ldap::{LOOKUP_COST, LdapConfig};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use tokio_util::codec::Framed;

const PASSWORD: &str = "password-123";

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("budget.db").display());
    lookups_count_in_the_budget(Arc::new(SqliteStore::open(&url).await.unwrap())).await;
}

#[tokio::test]
async fn postgres() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    lookups_count_in_the_budget(Arc::new(PostgresStore::connect(&url).await.unwrap())).await;
}

/// Room for two look-ups and a few candidates, not for three look-ups.
async fn lookups_count_in_the_budget(store: Arc<dyn Store>) {
    let app = App::new(store, AppConfig::default());
    app.create_domain(&Caller::System, DomainInput { name: "acme.example".into(), ..Default::default() })
        .await
        .unwrap();
    let ben = UserInput {
        extension: "200".into(),
        first_name: "Ben".into(),
        scope: Some("basic-user".into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    app.create_user(&Caller::System, "acme.example", ben).await.unwrap();
    let config =
        LdapConfig { max_examined: 2 * LOOKUP_COST + 50, allow_plain_user_binds: true, ..LdapConfig::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(switchboard_ldap::serve(listener, app, config));

    let socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut connection = Framed::new(socket, LdapCodec::default());
    let bind =
        LdapBindRequest { version: 3, dn: "200@acme.example".into(), cred: LdapBindCred::Simple(PASSWORD.into()) };
    connection.send(LdapMsg::new(1, LdapOp::BindRequest(bind))).await.unwrap();
    match connection.next().await.unwrap().unwrap().op {
        LdapOp::BindResponse(response) => assert_eq!(response.res.code, LdapResultCode::Success),
        other => panic!("{other:?}"),
    }
    // Names nobody has: every look-up finds nothing, and still costs.
    let unknown = |n: usize| {
        LdapFilter::Or(
            (0..n).map(|i| LdapFilter::Substring("cn".into(), format!("*zq{i}x*").as_str().into())).collect(),
        )
    };
    assert_eq!(search(&mut connection, unknown(2)).await.code, LdapResultCode::Success);
    let over = search(&mut connection, unknown(3)).await;
    assert_eq!(over.code, LdapResultCode::AdminLimitExceeded, "{over:?}");
    assert_eq!(
        search(&mut connection, LdapFilter::Substring("cn".into(), "*ben*".into())).await.code,
        LdapResultCode::Success
    );
    server.abort();
}

async fn search(connection: &mut Framed<tokio::net::TcpStream, LdapCodec>, filter: LdapFilter) -> LdapResult {
    let request = LdapSearchRequest {
        base: "ou=contacts,dc=acme,dc=example".into(),
        scope: LdapSearchScope::Subtree,
        aliases: LdapDerefAliases::Never,
        sizelimit: 10,
        timelimit: 0,
        typesonly: false,
        filter,
        attrs: vec!["cn".into()],
    };
    connection.send(LdapMsg::new(2, LdapOp::SearchRequest(request))).await.unwrap();
    loop {
        match connection.next().await.unwrap().unwrap().op {
            LdapOp::SearchResultEntry(_) => {}
            LdapOp::SearchResultDone(done) => return done,
            other => panic!("{other:?}"),
        }
    }
}
