//! The route table, the input helpers the route modules share, and the OpenAPI document (with
//! its UI at `/docs`). The routes themselves are split by audience: `public` (no token),
//! `admin` (admin token), `audit` (auditor or admin token), `webhooks`, `ical_export` and
//! `ops` (health, readiness, metrics).

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::admin::{accommodations, reservations};
use crate::problem::ProblemDetails;
use crate::{audit, ops, public};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics_page))
        .route(
            "/webhooks/whatsapp",
            web::get().to(crate::webhooks::whatsapp::verify),
        )
        .route(
            "/webhooks/whatsapp",
            web::post().to(crate::webhooks::whatsapp::receive),
        )
        .route(
            "/webhooks/mercadopago",
            web::post().to(crate::webhooks::mercadopago::receive),
        )
        .route(
            "/pagos/retorno",
            web::get().to(crate::webhooks::return_page::return_page),
        )
        .route("/ical/{file}", web::get().to(crate::ical_export::export))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
        .service(
            web::scope("/v1")
                .route(
                    "/accommodations",
                    web::get().to(public::list_accommodations),
                )
                .route("/availability", web::get().to(public::availability))
                .route("/quotes", web::post().to(public::quote))
                .route("/reservations", web::post().to(public::place_hold))
                .route(
                    "/reservations/{code}",
                    web::get().to(public::reservation_status),
                )
                .route(
                    "/admin/accommodations",
                    web::post().to(accommodations::register),
                )
                .route(
                    "/admin/accommodations/{id}",
                    web::patch().to(accommodations::change_details),
                )
                .route(
                    "/admin/accommodations/{id}",
                    web::get().to(accommodations::accommodation_details),
                )
                .route(
                    "/admin/accommodations/{id}/pricing",
                    web::put().to(accommodations::change_pricing),
                )
                .route(
                    "/admin/accommodations/{id}/calendar",
                    web::get().to(accommodations::calendar),
                )
                .route(
                    "/admin/accommodations/{id}/blocks",
                    web::post().to(accommodations::block),
                )
                .route(
                    "/admin/accommodations/{id}/blocks/{block_id}",
                    web::delete().to(accommodations::unblock),
                )
                .route(
                    "/admin/reservations",
                    web::get().to(reservations::list_reservations),
                )
                .route(
                    "/admin/reservations/{code}/confirm",
                    web::post().to(reservations::confirm),
                )
                .route(
                    "/admin/reservations/{code}/cancel",
                    web::post().to(reservations::cancel),
                )
                .route(
                    "/admin/reservations/{code}/extend",
                    web::post().to(reservations::extend),
                )
                .route("/admin/stats", web::get().to(reservations::stats))
                .route(
                    "/admin/alerts",
                    web::get().to(crate::admin::payments::alerts),
                )
                .route(
                    "/admin/conflicts",
                    web::get().to(crate::admin::calendars::conflicts),
                )
                .route(
                    "/admin/accommodations/{id}/feeds",
                    web::post().to(crate::admin::calendars::add_feed),
                )
                .route(
                    "/admin/accommodations/{id}/feeds",
                    web::get().to(crate::admin::calendars::list_feeds),
                )
                .route(
                    "/admin/accommodations/{id}/feeds/{feed}/sync",
                    web::post().to(crate::admin::calendars::sync_now),
                )
                .route(
                    "/admin/accommodations/{id}/feeds/{feed}",
                    web::delete().to(crate::admin::calendars::remove_feed),
                )
                .route(
                    "/admin/accommodations/{id}/ical",
                    web::get().to(crate::admin::calendars::export_url),
                )
                .route(
                    "/admin/accommodations/{id}/ical/rotate",
                    web::post().to(crate::admin::calendars::rotate),
                )
                .route(
                    "/admin/reservations/{code}/payments",
                    web::get().to(crate::admin::payments::reservation_payments),
                )
                .route(
                    "/admin/reservations/{code}/payments",
                    web::post().to(reservations::record_payment),
                )
                .route(
                    "/admin/reservations/{code}/refunds/{refund_key}",
                    web::post().to(reservations::refund_made),
                )
                .route(
                    "/admin/reservations/{code}/stay",
                    web::post().to(reservations::change_stay),
                )
                .route(
                    "/admin/sandbox/payments",
                    web::post().to(crate::admin::payments::sandbox_payment),
                )
                .route(
                    "/admin/whatsapp/conversations",
                    web::get().to(crate::admin::conversations::conversations),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/replies",
                    web::get().to(crate::admin::conversations::replies),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/messages",
                    web::post().to(crate::admin::conversations::write),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/release",
                    web::post().to(crate::admin::conversations::release),
                )
                .route(
                    "/audit/streams/{stream_id}",
                    web::get().to(audit::audit_stream),
                )
                .route("/audit/events", web::get().to(audit::audit_events))
                .route(
                    "/audit/reservations/{code}/timeline",
                    web::get().to(audit::audit_timeline),
                )
                .route("/audit/verify", web::get().to(audit::audit_verify))
                .route(
                    "/audit/checkpoints/verify",
                    web::post().to(crate::audit::verify_checkpoint),
                )
                .route(
                    "/admin/guests/{guest}/personal-data",
                    web::delete().to(crate::admin::guests::erase),
                )
                .route(
                    "/audit/accommodations/{id}/availability",
                    web::get().to(crate::audit::availability_as_of),
                )
                .route(
                    "/audit/reservations/{code}",
                    web::get().to(crate::audit::reservation_story),
                ),
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
