//! The known genres. `GET /api/v1/genres` lists them; a movie may only carry these.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Genre {
    Action,
    Adventure,
    Animation,
    Comedy,
    Crime,
    Documentary,
    Drama,
    Family,
    Fantasy,
    History,
    Horror,
    Music,
    Mystery,
    Romance,
    ScienceFiction,
    Thriller,
    War,
    Western,
}

impl Genre {
    pub const ALL: [Genre; 18] = [
        Genre::Action,
        Genre::Adventure,
        Genre::Animation,
        Genre::Comedy,
        Genre::Crime,
        Genre::Documentary,
        Genre::Drama,
        Genre::Family,
        Genre::Fantasy,
        Genre::History,
        Genre::Horror,
        Genre::Music,
        Genre::Mystery,
        Genre::Romance,
        Genre::ScienceFiction,
        Genre::Thriller,
        Genre::War,
        Genre::Western,
    ];

    /// The name clients send and receive (`science-fiction`).
    pub fn as_str(self) -> &'static str {
        match self {
            Genre::Action => "action",
            Genre::Adventure => "adventure",
            Genre::Animation => "animation",
            Genre::Comedy => "comedy",
            Genre::Crime => "crime",
            Genre::Documentary => "documentary",
            Genre::Drama => "drama",
            Genre::Family => "family",
            Genre::Fantasy => "fantasy",
            Genre::History => "history",
            Genre::Horror => "horror",
            Genre::Music => "music",
            Genre::Mystery => "mystery",
            Genre::Romance => "romance",
            Genre::ScienceFiction => "science-fiction",
            Genre::Thriller => "thriller",
            Genre::War => "war",
            Genre::Western => "western",
        }
    }

    /// Every valid name, comma-separated, for error messages.
    pub fn valid_names() -> String {
        Self::ALL.map(Genre::as_str).join(", ")
    }

    /// A genre by name, ignoring case and surrounding space.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::find(raw).ok_or_else(|| {
            format!(
                "unknown genre '{}'; valid genres are {}",
                raw.trim(),
                Self::valid_names()
            )
        })
    }

    fn find(raw: &str) -> Option<Self> {
        let wanted = raw.trim();
        Self::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(wanted))
    }
}

/// A movie's genres: all known, each once, in the order first given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Genres(Vec<Genre>);

impl Genres {
    /// Reports every unknown name at once, with the list of valid ones.
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut genres = Vec::new();
        let mut unknown = Vec::new();
        for name in raw {
            match Genre::find(name) {
                Some(genre) if !genres.contains(&genre) => genres.push(genre),
                Some(_) => {}
                None => unknown.push(format!("'{}'", name.trim())),
            }
        }
        if unknown.is_empty() {
            Ok(Self(genres))
        } else {
            Err(format!(
                "unknown genre(s) {}; valid genres are {}",
                unknown.join(", "),
                Genre::valid_names()
            ))
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|g| g.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn serde_names_match_the_names_the_api_documents() {
        for genre in Genre::ALL {
            assert_eq!(
                serde_json::to_value(genre).unwrap(),
                genre.as_str(),
                "{genre:?}"
            );
        }
    }

    #[test]
    fn genre_names_are_case_insensitive_and_trimmed() {
        assert_eq!(Genre::parse(" Drama "), Ok(Genre::Drama));
        assert_eq!(Genre::parse("SCIENCE-FICTION"), Ok(Genre::ScienceFiction));
    }

    #[test]
    fn an_unknown_genre_names_the_valid_ones() {
        let message = Genre::parse("sci-fi").unwrap_err();
        assert!(message.contains("'sci-fi'"), "{message}");
        assert!(
            message.contains("action, adventure, animation"),
            "{message}"
        );
        assert!(message.contains("science-fiction"), "{message}");
    }

    #[test]
    fn genres_drop_duplicates_and_keep_first_order() {
        let genres = Genres::parse(&strings(&["drama", "crime", "Drama"])).unwrap();
        assert_eq!(genres.names(), ["drama", "crime"]);
        assert_eq!(Genres::parse(&[]).unwrap().names(), Vec::<&str>::new());
    }

    #[test]
    fn genres_report_every_unknown_name() {
        let message = Genres::parse(&strings(&["drama", "romcom", "sci-fi"])).unwrap_err();
        assert!(
            message.starts_with("unknown genre(s) 'romcom', 'sci-fi';"),
            "{message}"
        );
        assert!(message.contains("western"), "{message}");
    }
}
