//! "liberar +NÚMERO" (or the handoff alert's button): a guest who asked for a person is
//! answered by the bot again.

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;

/// Hands the conversation with `wa_id` back to the bot; what to tell the owner.
pub(super) async fn release(
    state: &Context,
    origin: &Origin,
    wa_id: &str,
) -> Result<String, AppError> {
    Ok(
        match crate::guests::hand_back(state, wa_id, origin).await? {
            Some(_) => format!("✅ Listo: el asistente vuelve a contestarle a +{wa_id}."),
            None => format!("No encontré una conversación con +{wa_id}."),
        },
    )
}
