//! "respuesta wifi: …": what the bot answers guests who ask about a topic, in one cabin or in
//! all of them.

use conversation::nlu;
use conversation::owner::spoken;
use domain::accommodation::{AccommodationCommand, ChangeDetails};
use domain::house::{Answers, Topic};

use super::cabin_id;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute};

/// Sets what the bot answers about `topic` (blank: removes it) in the cabin `named` names, or
/// in every cabin when it names none; what to tell the owner.
pub(super) async fn teach(
    state: &Context,
    origin: &Origin,
    topic: Topic,
    named: &str,
    text: &str,
) -> Result<String, AppError> {
    let mut cabins = projections::queries::accommodations(&state.db).await?;
    if cabins.is_empty() {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    }
    let mut whose = String::new();
    if !named.trim().is_empty() {
        let Some(cabin) = nlu::named(&cabins, |c| &c.name, named).cloned() else {
            let names: Vec<&str> = cabins.iter().map(|c| c.name.as_str()).collect();
            return Ok(format!(
                "No sé qué cabaña es «{}». Tenés: {}.",
                named.trim(),
                names.join(", ")
            ));
        };
        whose = format!(" en {}", cabin.name);
        cabins = vec![cabin];
    }
    for cabin in &cabins {
        let id = cabin_id(&cabin.id)?;
        let cmd = AccommodationCommand::ChangeDetails(ChangeDetails {
            answers: Some(Answers::from([(topic, text.to_owned())])),
            ..ChangeDetails::default()
        });
        match execute(state, id, cmd, origin).await {
            Ok(_) => {}
            Err(AppError::Domain(e)) => return Ok(format!("No lo pude anotar: {}.", spoken(&e))),
            Err(e) => return Err(e),
        }
    }
    let key = topic.key().replace('_', " ");
    Ok(if text.trim().is_empty() {
        format!("✅ Listo: cuando pregunten por «{key}»{whose}, les ofrezco hablar con vos.")
    } else {
        format!(
            "✅ Anotado: cuando pregunten por «{key}»{whose}, contesto: «{}»",
            text.trim()
        )
    })
}
