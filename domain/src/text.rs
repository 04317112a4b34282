//! How words compare: what a guest types and what is stored are matched lower case, with
//! accents and ñ folded, so `Pérez` is found by `perez` and "mañana" reads as "manana". One
//! rule for the reservations' search and the reading of guests' and owners' messages.

/// `text` lower case, accents, ñ and ç folded to plain ASCII letters.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(
            super::fold("Pérez MAÑANA Çedilla Ü"),
            "perez manana cedilla u"
        );
    }
}
