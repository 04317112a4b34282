//! What the outside calls: Meta's WhatsApp deliveries, Mercado Pago's notifications, and the
//! page Mercado Pago sends a guest back to. Each signature is checked over the raw bytes before
//! anything is parsed; a delivery is acknowledged once it is stored.

pub mod mercadopago;
pub mod return_page;
pub mod whatsapp;
