//! The route table, the input helpers the route modules share, and the OpenAPI document (with
//! its UI at `/docs`). The routes themselves are split by audience: `public` (no token),
//! `admin` (admin token), `audit` (auditor or admin token), `webhooks`, `ical_export`,
//! `panel` (HTML for a browser, session cookie) and `ops` (health, readiness, metrics).

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::admin::{accommodations, reservations};
use crate::problem::{Problem, ProblemDetails};
use crate::{audit, ops, public};

/// Every route, in one table (long on purpose: one place to read the whole API's shape, in
/// the order the OpenAPI document lists it).
/// `path`'s resource with one route per `method => handler`; any other method is answered
/// 405 with the methods it does take in `Allow`.
macro_rules! at {
    ($path:expr, $($method:ident => $handler:expr),+ $(,)?) => {
        web::resource($path)
            $(.route(web::$method().to($handler)))+
            .default_service(web::to(|| method_not_allowed(&[$(stringify!($method)),+])))
    };
}

/// 405, naming the methods the path takes.
async fn method_not_allowed(methods: &'static [&'static str]) -> HttpResponse {
    let allow = methods
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    let problem = Problem::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("this route takes {allow}"),
    );
    let mut res = actix_web::ResponseError::error_response(&problem);
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        res.headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    res
}

/// Every route, in one table (long on purpose: one place to read the whole API's shape). Each
/// path is one resource with its methods, so another method on a known path is answered 405
/// with `Allow`, not 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(at!("/healthz", get => ops::healthz))
        .service(at!("/readyz", get => ops::readyz))
        .service(at!("/metrics", get => ops::metrics_page))
        .service(at!(
            "/webhooks/whatsapp",
            get => crate::webhooks::whatsapp::verify,
            post => crate::webhooks::whatsapp::receive,
        ))
        .service(at!("/webhooks/mercadopago", post => crate::webhooks::mercadopago::receive))
        .service(at!("/pagos/retorno", get => crate::webhooks::return_page::return_page))
        .service(at!("/ical/{file}", get => crate::ical_export::export))
        .service(at!("/panel", get => || async { crate::panel::see_other("/panel/") }))
        .service(at!("/panel/", get => crate::panel::index))
        .service(at!("/panel/ingresar", post => crate::panel::sign_in))
        .service(at!("/panel/salir", post => crate::panel::sign_out))
        .service(at!("/panel/calendario", get => crate::panel::calendar::page_for))
        .service(at!("/panel/calendario/bloquear", post => crate::panel::calendar::block))
        .service(at!("/panel/calendario/desbloquear", post => crate::panel::calendar::unblock))
        .service(at!("/panel/agenda", get => crate::panel::agenda::page))
        .service(at!("/panel/auditoria", get => crate::panel::audit::page))
        .service(at!("/panel/auditoria/verificar", post => crate::panel::audit::verify))
        .service(at!("/panel/eventos", get => crate::panel::events::stream))
        .service(at!(
            "/panel/enlace/{token}",
            get => crate::panel::link::open,
            post => crate::panel::link::enter
        ))
        .service(at!("/panel/panel.js", get => crate::panel::events::script))
        .service(at!("/panel/reservas", get => crate::panel::reservations::list::list))
        .service(at!("/panel/reservas/{code}", get => crate::panel::reservations::page::show))
        .service(at!(
            "/panel/reservas/{code}/{action}",
            post => crate::panel::reservations::act,
        ))
        .service(at!("/panel/numeros", get => crate::panel::numbers::show))
        .service(at!("/panel/numeros.csv", get => crate::panel::numbers::export))
        .service(at!("/panel/cabanas", get => crate::panel::cabins::list))
        .service(at!(
            "/panel/cabanas/nueva",
            get => crate::panel::cabins::new::form,
            post => crate::panel::cabins::new::register,
        ))
        .service(at!("/panel/cabanas/{id}", get => crate::panel::cabins::show))
        .service(at!("/panel/cabanas/{id}/datos", post => crate::panel::cabins::edit::details))
        .service(at!("/panel/cabanas/{id}/precios", post => crate::panel::cabins::edit::pricing))
        .service(at!(
            "/panel/cabanas/{id}/temporadas",
            post => crate::panel::cabins::edit::add_season,
        ))
        .service(at!(
            "/panel/cabanas/{id}/temporadas/quitar",
            post => crate::panel::cabins::edit::remove_season,
        ))
        .service(at!("/panel/cabanas/{id}/respuestas", post => crate::panel::cabins::edit::answer))
        .service(at!("/panel/cabanas/{id}/calendarios", post => crate::panel::cabins::feeds::add))
        .service(at!(
            "/panel/cabanas/{id}/calendarios/{feed}/{action}",
            post => crate::panel::cabins::feeds::act,
        ))
        .service(at!("/panel/alertas", get => crate::panel::alerts::page))
        .service(at!(
            "/panel/alertas/devoluciones/{code}/{refund_key}",
            post => crate::panel::alerts::refund_made,
        ))
        .service(at!("/panel/conversaciones", get => crate::panel::conversations::list))
        .service(at!(
            "/panel/conversaciones/{guest}",
            get => crate::panel::conversations::thread::show,
        ))
        .service(at!(
            "/panel/conversaciones/{guest}/responder",
            post => crate::panel::conversations::thread::write,
        ))
        .service(at!(
            "/panel/conversaciones/{guest}/devolver",
            post => crate::panel::conversations::thread::hand_back,
        ))
        .service(at!("/docs", get => || async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
        .service(
            web::scope("/v1")
                .service(at!("/accommodations", get => public::list_accommodations))
                .service(at!("/availability", get => public::availability))
                .service(at!("/quotes", post => public::quote))
                .service(at!("/reservations", post => public::place_hold))
                .service(at!("/reservations/{code}", get => public::reservation_status))
                .service(at!("/admin/accommodations", post => accommodations::register))
                .service(at!(
                    "/admin/accommodations/{id}",
                    patch => accommodations::change_details,
                    get => accommodations::accommodation_details,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/pricing",
                    put => accommodations::change_pricing,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/calendar",
                    get => accommodations::calendar,
                ))
                .service(at!("/admin/accommodations/{id}/blocks", post => accommodations::block))
                .service(at!(
                    "/admin/accommodations/{id}/blocks/{block_id}",
                    delete => accommodations::unblock,
                ))
                .service(at!("/admin/reservations", get => reservations::list_reservations))
                .service(at!("/admin/reservations/{code}/confirm", post => reservations::confirm))
                .service(at!("/admin/reservations/{code}/cancel", post => reservations::cancel))
                .service(at!("/admin/reservations/{code}/extend", post => reservations::extend))
                .service(at!("/admin/stats", get => reservations::stats))
                .service(at!("/admin/alerts", get => crate::admin::payments::alerts))
                .service(at!("/admin/conflicts", get => crate::admin::calendars::conflicts))
                .service(at!(
                    "/admin/accommodations/{id}/feeds",
                    post => crate::admin::calendars::add_feed,
                    get => crate::admin::calendars::list_feeds,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/feeds/{feed}/sync",
                    post => crate::admin::calendars::sync_now,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/feeds/{feed}",
                    delete => crate::admin::calendars::remove_feed,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/ical",
                    get => crate::admin::calendars::export_url,
                ))
                .service(at!(
                    "/admin/accommodations/{id}/ical/rotate",
                    post => crate::admin::calendars::rotate,
                ))
                .service(at!(
                    "/admin/reservations/{code}/payments",
                    get => crate::admin::payments::reservation_payments,
                    post => reservations::record_payment,
                ))
                .service(at!(
                    "/admin/reservations/{code}/refunds/{refund_key}",
                    post => reservations::refund_made,
                ))
                .service(at!("/admin/reservations/{code}/stay", post => reservations::change_stay))
                .service(at!(
                    "/admin/sandbox/payments",
                    post => crate::admin::payments::sandbox_payment,
                ))
                .service(at!(
                    "/admin/whatsapp/conversations",
                    get => crate::admin::conversations::conversations,
                ))
                .service(at!(
                    "/admin/whatsapp/conversations/{wa_id}/replies",
                    get => crate::admin::conversations::replies,
                ))
                .service(at!(
                    "/admin/whatsapp/conversations/{wa_id}/messages",
                    post => crate::admin::conversations::write,
                ))
                .service(at!(
                    "/admin/whatsapp/conversations/{wa_id}/release",
                    post => crate::admin::conversations::release,
                ))
                .service(at!("/audit/streams/{stream_id}", get => audit::audit_stream))
                .service(at!("/audit/events", get => audit::audit_events))
                .service(at!("/audit/reservations/{code}/timeline", get => audit::audit_timeline))
                .service(at!("/audit/verify", get => audit::audit_verify))
                .service(at!("/audit/checkpoints/verify", post => crate::audit::verify_checkpoint))
                .service(at!(
                    "/admin/guests/{guest}/personal-data",
                    delete => crate::admin::guests::erase,
                ))
                .service(at!(
                    "/audit/accommodations/{id}/availability",
                    get => crate::audit::availability_as_of,
                ))
                .service(at!("/audit/reservations/{code}", get => crate::audit::reservation_story)),
        );
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "cabanas", description = "Event-sourced booking engine for cabin rentals. Errors are application/problem+json; every POST accepts Idempotency-Key; command responses carry `position`, which queries accept as `min_position` to read their own writes."),
    paths(
        public::list_accommodations, public::availability, public::quote, public::place_hold, public::reservation_status,
        accommodations::register, accommodations::accommodation_details, accommodations::change_details, accommodations::change_pricing, accommodations::calendar, accommodations::block, accommodations::unblock, reservations::list_reservations, reservations::confirm, reservations::cancel,
        reservations::record_payment, reservations::refund_made, reservations::change_stay, reservations::extend, reservations::stats, audit::audit_stream, audit::audit_events, audit::audit_timeline, audit::audit_verify,
        crate::admin::payments::alerts, crate::admin::payments::reservation_payments, crate::admin::payments::sandbox_payment,
        crate::admin::calendars::add_feed, crate::admin::calendars::list_feeds, crate::admin::calendars::sync_now, crate::admin::calendars::remove_feed,
        crate::admin::calendars::export_url, crate::admin::calendars::rotate, crate::admin::calendars::conflicts,
        crate::audit::availability_as_of, crate::audit::reservation_story, crate::admin::guests::erase,
        crate::audit::verify_checkpoint
    ),
    components(schemas(ProblemDetails, public::StayRequest, public::GuestInput,
        accommodations::RegisterInput, accommodations::PricingInput,
        accommodations::PricingChangeInput, accommodations::DetailsInput, accommodations::BlockInput,
        reservations::ConfirmInput, reservations::PaymentInput, reservations::RefundInput,
        reservations::StayInput, reservations::CancelInput, reservations::ExtendInput,
        crate::admin::payments::SandboxPayment, crate::admin::calendars::FeedInput, crate::audit::CheckpointCheck)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
