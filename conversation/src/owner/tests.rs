//! Reading the owner's commands, one test (at least) per command.

use domain::Money;
use domain::house::Topic;

use super::*;

fn text(body: &str) -> Option<Command> {
    command(Sent::Text(body))
}

fn tap(id: &str) -> Option<Command> {
    command(Sent::Button(id))
}

fn pesos(amount: &str) -> Option<Money> {
    Some(Money::new(amount.parse().unwrap()))
}

#[test]
fn the_alert_button_and_written_commands_name_the_hold_and_the_amount() {
    let k7 = |amount: Option<&str>| {
        Some(Command::Confirm {
            code: "K7M2QXP".into(),
            amount: amount.and_then(pesos),
        })
    };
    assert_eq!(tap("owner-confirm:K7M2QXP"), k7(None));
    assert_eq!(text("confirmar k7m2qxp"), k7(None));
    assert_eq!(text("Confirmá K7M2QXP $32.400"), k7(Some("32400")));
    assert_eq!(text("confirmo K7M2QXP 32.400,50"), k7(Some("32400.50")));
    assert_eq!(text("confirmar la «K7M2QXP», 15000"), k7(Some("15000")));
    // A code of letters only: the owner knows their codes.
    assert_eq!(
        text("confirmar KMPQRST"),
        Some(Command::Confirm {
            code: "KMPQRST".into(),
            amount: None
        })
    );
    // The owner trying the bot: their "yes" to a cabin, and words, are the conversation's.
    assert_eq!(text("confirmar"), None);
    assert_eq!(text("confirmar la de Ana"), None);
    assert_eq!(
        text("confirmar reserva K7M2QXP"),
        k7(None),
        "a word of the sentence is not a code"
    );
    assert_eq!(text("hola"), None);
    assert_eq!(text("K7M2QXP"), None);
    assert_eq!(tap("menu:book"), None);
}

#[test]
fn refunds_made_by_hand_name_the_reservation() {
    for said in [
        "devuelto K7M2QXP",
        "Devolví la K7M2QXP",
        "devolvi K7M2QXP 15000",
    ] {
        assert_eq!(
            text(said),
            Some(Command::Refunded {
                code: "K7M2QXP".into()
            }),
            "{said}"
        );
    }
    assert_eq!(text("devuelto"), None);
}

#[test]
fn a_balance_collected_names_the_stay_the_amount_and_how_it_was_paid() {
    let collected = |amount: Option<&str>, method: Option<&'static str>| {
        Some(Command::Collected {
            code: "K7M2QXP".into(),
            amount: amount.and_then(pesos),
            method,
        })
    };
    assert_eq!(text("cobrado K7M2QXP"), collected(None, None));
    assert_eq!(
        text("Cobré la K7M2QXP, $20.000 en efectivo"),
        collected(Some("20000"), Some("efectivo"))
    );
    assert_eq!(
        text("cobrada k7m2qxp por transferencia"),
        collected(None, Some("transferencia"))
    );
    assert_eq!(
        text("cobré K7M2QXP 20.000 con débito"),
        collected(Some("20000"), Some("tarjeta"))
    );
    assert_eq!(text("cobrado"), None);
    assert_eq!(text("cobran seña?"), None);
}

#[test]
fn an_amount_of_seven_digits_is_not_taken_for_the_code() {
    assert_eq!(
        text("confirmar 2345678 K7M2QXP"),
        Some(Command::Confirm {
            code: "K7M2QXP".into(),
            amount: pesos("2345678"),
        })
    );
    assert_eq!(
        text("cobrado 2345678 KMPQRST"),
        Some(Command::Collected {
            code: "KMPQRST".into(),
            amount: pesos("2345678"),
            method: None,
        })
    );
    // A code of digits alone is still a code, and no amount.
    assert_eq!(
        text("confirmar 2345678"),
        Some(Command::Confirm {
            code: "2345678".into(),
            amount: None,
        })
    );
}

#[test]
fn the_agenda_is_asked_for_today_tomorrow_or_the_week() {
    let agenda = |span| Some(Command::Agenda(span));
    assert_eq!(text("agenda"), agenda(Span::Today));
    assert_eq!(text("Agenda de hoy"), agenda(Span::Today));
    assert_eq!(text("agenda de mañana"), agenda(Span::Tomorrow));
    assert_eq!(text("agenda manana?"), agenda(Span::Tomorrow));
    assert_eq!(text("agenda de la semana"), agenda(Span::Week));
    assert_eq!(text("agenda esta semana"), agenda(Span::Week));
    assert_eq!(text("Agenda!"), agenda(Span::Today));
    // The owner trying the bot, or anything else with the word.
    assert_eq!(text("agenda el 24 para 4"), None);
    assert_eq!(text("mañana"), None);
}

#[test]
fn the_help_is_the_bare_word() {
    assert_eq!(text("comandos"), Some(Command::Help));
    assert_eq!(text("Comandos?"), Some(Command::Help));
    assert_eq!(text("comandos de la cabaña"), None);
}

#[test]
fn the_panel_link_is_the_bare_word() {
    assert_eq!(text("panel"), Some(Command::PanelLink));
    assert_eq!(text("Panel!"), Some(Command::PanelLink));
    assert_eq!(text("panel solar para la cabaña"), None);
}

#[test]
fn an_answer_names_its_topic_its_cabin_and_what_to_say() {
    for (said, topic, cabin, answer) in [
        (
            "respuesta wifi: Sí, 50 megas.",
            Topic::Wifi,
            "",
            "Sí, 50 megas.",
        ),
        (
            "Respuesta ropa de cama: incluida",
            Topic::Linen,
            "",
            "incluida",
        ),
        (
            "responder bebés tenemos cuna",
            Topic::Babies,
            "",
            "tenemos cuna",
        ),
        ("respuesta mascotas:", Topic::Pets, "", ""),
        (
            "respuesta pileta la del bosque: Sí, climatizada",
            Topic::Pool,
            "la del bosque",
            "Sí, climatizada",
        ),
    ] {
        assert_eq!(
            text(said),
            Some(Command::Answer {
                topic,
                cabin: cabin.into(),
                text: answer.into()
            }),
            "{said}"
        );
    }
    // A topic it does not know: the help, with the topics it does.
    assert_eq!(text("respuesta jacuzzi: sí"), Some(Command::Help));
}

#[test]
fn liberar_with_an_argentine_number_hands_the_conversation_back() {
    let release = Some(Command::Release {
        wa_id: "5491122334455".into(),
    });
    assert_eq!(text("liberar +5491122334455"), release);
    assert_eq!(text("Liberá +54 9 11 2233-4455"), release);
    for local in [
        "liberar 11 2233-4455",
        "liberar 011 2233 4455",
        "liberar +54 11 2233 4455",
        "soltar (011) 2233-4455",
    ] {
        assert_eq!(text(local), release, "{local}");
    }
    assert_eq!(tap("owner-release:5491122334455"), release);
    // A number of another country is kept as written.
    assert_eq!(
        text("liberar +598 99 123 456"),
        Some(Command::Release {
            wa_id: "59899123456".into()
        })
    );
    // Nights, not a number.
    assert!(matches!(
        text("liberar del 24/12 al 27/12"),
        Some(Command::Block { free: true, .. })
    ));
    // Too few digits for a number: nights again.
    assert!(matches!(
        text("liberar 2233-4455"),
        Some(Command::Block { free: true, .. })
    ));
}

#[test]
fn blocking_and_freeing_nights_keep_the_words_for_their_dates() {
    for (said, free) in [
        ("bloquear del 24 al 27 de diciembre", false),
        ("Bloqueá el finde en la del bosque", false),
        ("desbloquear del 24/12 al 27/12", true),
        ("liberá del 24 al 27", true),
    ] {
        assert_eq!(
            text(said),
            Some(Command::Block {
                text: said.into(),
                free
            }),
            "{said}"
        );
    }
}

#[test]
fn a_cancellation_is_asked_before_it_is_made() {
    let cancel = |sure, all| {
        Some(Command::Cancel {
            code: "K7M2QXP".into(),
            sure,
            all,
        })
    };
    assert_eq!(text("cancelar K7M2QXP"), cancel(false, false));
    assert_eq!(text("Cancelá la K7M2QXP"), cancel(false, false));
    assert_eq!(tap("owner-cancel:K7M2QXP"), cancel(true, false));
    assert_eq!(tap("owner-cancel-all:K7M2QXP"), cancel(true, true));
    // The owner trying the bot's own cancellation, with no code.
    assert_eq!(text("cancelar mi reserva"), None);
}

#[test]
fn a_typed_si_or_todo_counts_only_as_the_last_word() {
    let cancel = |sure, all| {
        Some(Command::Cancel {
            code: "K7M2QXP".into(),
            sure,
            all,
        })
    };
    assert_eq!(text("cancelar K7M2QXP sí"), cancel(true, false));
    assert_eq!(text("cancelar K7M2QXP, si."), cancel(true, false));
    assert_eq!(text("cancelar K7M2QXP confirmo"), cancel(true, false));
    assert_eq!(text("cancelar K7M2QXP y devolver todo"), cancel(true, true));
    assert_eq!(text("cancelar K7M2QXP TODO!"), cancel(true, true));
    // A "si" inside a sentence is an "if"; "todo" before the end is not the answer.
    assert_eq!(text("cancelar K7M2QXP si no paga"), cancel(false, false));
    assert_eq!(text("cancelar K7M2QXP todo bien"), cancel(false, false));
    assert_eq!(text("cancelar sí K7M2QXP"), cancel(false, false));
    let sure = |said: &str| match text(said) {
        Some(Command::Move { sure, .. }) => sure,
        other => panic!("{said}: {other:?}"),
    };
    assert!(sure("mover K7M2QXP del 12 al 14 sí"));
    assert!(!sure("mover K7M2QXP sí del 12 al 14"));
    assert!(
        !sure("mover K7M2QXP del 12 al 14 todo"),
        "«todo» only cancels"
    );
}

#[test]
fn a_move_reads_its_dates_around_the_code_and_its_button_carries_them() {
    assert_eq!(
        text("mover K7M2QXP del 12/1 al 14/1"),
        Some(Command::Move {
            code: "K7M2QXP".into(),
            to: MoveTo::Said("del 12/1 al 14/1".into()),
            sure: false,
        })
    );
    assert_eq!(
        text("Cambiá la k7m2qxp del 12 al 14 para 3, sí"),
        Some(Command::Move {
            code: "K7M2QXP".into(),
            to: MoveTo::Said("la del 12 al 14 para 3, sí".into()),
            sure: true,
        })
    );
    let exactly = |guests| {
        Some(Command::Move {
            code: "K7M2QXP".into(),
            to: MoveTo::Exactly {
                check_in: "2027-01-12".parse().unwrap(),
                check_out: "2027-01-14".parse().unwrap(),
                guests,
            },
            sure: true,
        })
    };
    assert_eq!(
        tap("owner-move:K7M2QXP:2027-01-12:2027-01-14:"),
        exactly(None)
    );
    assert_eq!(
        tap("owner-move:K7M2QXP:2027-01-12:2027-01-14:3"),
        exactly(Some(3))
    );
    assert_eq!(tap("owner-move:K7M2QXP:mañana"), None);
    // The owner trying the bot's own "change dates".
    assert_eq!(text("cambiar fechas"), None);
}
