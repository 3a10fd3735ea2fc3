//! Caller-ID: the name to show for an incoming number, from the callee's view, and
//! whether the callee's domain blocks it.
//!
//! The callee's books are asked in order of precedence: their own contacts, then the
//! shared contacts (when `PORTAL_SHOW_SHARED_CONTACTS` shows them to the callee), then
//! the listed coworkers. The first book with any match decides. Within it a stored
//! number matches the calling one (read with the callee's `DEFAULT_COUNTRY`) by the
//! strongest of these rules, and the strongest rule found decides:
//! 1. `exact_e164` — both have the same E.164 form;
//! 2. `national_number` — the same national significant number, when at least one of
//!    the two was written without its country code (`2065550100` and `+1 206-555-0100`);
//! 3. `trailing_digits` — the digits of one (E.164 when it has one, leading zeros
//!    dropped) end the digits of the other, seven digits or more (`555-0100`);
//! 4. `extension` — a calling number of at most six digits is an extension: a coworker's,
//!    or a contact's number that is that same short code.
//!
//! Two different entries matched by the deciding rule in the deciding book are never
//! guessed between: the answer has no name and says `ambiguous`.

use std::sync::Arc;

use serde::Serialize;
use switchboard_core::contact::NumberKind;
use switchboard_core::details::Phone;
use switchboard_core::model::{Book, Contact, Domain, EntryKind, User};
use switchboard_core::phone::Country;
use switchboard_core::{Extension, Invalid, PhoneNumber};
use switchboard_store::BlockedNumber;
use uuid::Uuid;

use crate::auth::Caller;
use crate::authz::access;
use crate::blocking::{AllowedNumberView, BlockedNumberView, international_form};
use crate::book_index::{BookIndex, Row};
use crate::error::{AppError, Result};
use crate::{App, PhonebookReader};

/// Candidate rows read per book. When a book has more numbers ending in the same seven
/// digits, those with the calling E.164 come first; without one the answer is ambiguous.
const MAX_CANDIDATES: u32 = 50;

/// Shortest common tail the trailing-digits rule accepts.
const MIN_TRAILING_DIGITS: usize = 7;

/// Which rule matched, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    ExactE164,
    NationalNumber,
    TrailingDigits,
    Extension,
    None,
}

/// The directory entry a calling number belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MatchedEntry {
    /// `personal`, `shared` or `coworker`.
    pub kind: EntryKind,
    /// The contact's or the coworker's id.
    pub id: Uuid,
    /// Which of the entry's numbers matched (`extension` for a coworker).
    #[serde(rename = "number_type")]
    pub number_kind: NumberKind,
    /// That number as it was typed.
    pub number: String,
    /// The number's own label ("Assistant"), else its kind in words ("Mobile", "Pager").
    pub label: String,
}

/// What a phone system shows and does for an incoming call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LookupAnswer {
    /// The calling number as read (`e164` is null for extensions and numbers outside the numbering plan).
    pub number: PhoneNumber,
    /// The calling number as the callee reads numbers: nationally when it is of the
    /// domain's country (`(206) 555-0100`), else internationally (`+44 20 7946 0958`);
    /// as given when it is no valid number. What to show beside the name, or instead of it.
    pub display: String,
    /// The name to show; null when nothing matched or the match was ambiguous.
    pub name: Option<String>,
    pub entry: Option<MatchedEntry>,
    pub rule: MatchRule,
    /// More than one entry matched by the deciding rule: no name is guessed.
    pub ambiguous: bool,
    /// How many entries the deciding rule matched (0 when nothing matched).
    pub candidates: u32,
    /// Whether the call should be refused: the domain blocks the number and the callee does not allow it.
    pub blocked: bool,
    /// The domain's block-list entry that applies to the number (the longest prefix, or the number itself).
    pub blocked_by: Option<BlockedNumberView>,
    /// The callee's allow-list entry that lets the number through the block.
    pub allowed_by: Option<AllowedNumberView>,
}

/// Whose view a look-up takes.
pub(crate) struct Callee<'a> {
    pub domain: &'a Domain,
    /// `None`: the domain's view (shared contacts and coworkers, no allow list).
    pub user: Option<&'a User>,
    /// Whether the user's own contacts may name the caller.
    pub reads_personal: bool,
}

/// The calling number, read once for every comparison.
struct Calling {
    number: PhoneNumber,
    country: Country,
    /// Country code and national significant number, when it reads as a phone number.
    national: Option<(u16, String)>,
    /// Digits compared by the trailing-digits rule.
    digits: String,
}

impl Calling {
    fn read(text: &str, country: Country) -> Result<Calling, Invalid> {
        let number = PhoneNumber::parse(text, country)
            .map_err(|message| Invalid::field("number", message))?
            // Text without digits (`call me`) is a contact's note, never a caller's number.
            .filter(PhoneNumber::has_number)
            .ok_or_else(|| Invalid::field("number", "give the calling number"))?;
        let national = number.national(country);
        let digits = trailing_digits(&number);
        Ok(Calling { number, country, national, digits })
    }

    /// How `stored` matches this number, if it does.
    fn rule_for(&self, stored: &PhoneNumber) -> Option<MatchRule> {
        let (calling_short, stored_short) = (self.number.is_short_code(), stored.is_short_code());
        if calling_short || stored_short {
            // A short code is all digits as typed: the same code is the same text.
            let same_code = calling_short && stored_short && stored.typed == self.number.typed;
            return same_code.then_some(MatchRule::Extension);
        }
        if self.number.e164.is_some() && self.number.e164 == stored.e164 {
            return Some(MatchRule::ExactE164);
        }
        if self.same_national_number(stored) {
            return Some(MatchRule::NationalNumber);
        }
        let theirs = trailing_digits(stored);
        let (shorter, longer) =
            if theirs.len() < self.digits.len() { (&theirs, &self.digits) } else { (&self.digits, &theirs) };
        (shorter.len() >= MIN_TRAILING_DIGITS && longer.ends_with(shorter.as_str()))
            .then_some(MatchRule::TrailingDigits)
    }

    /// Same national number, unless both were written with (different) country codes.
    fn same_national_number(&self, stored: &PhoneNumber) -> bool {
        let (Some((code, national)), Some((stored_code, stored_national))) =
            (&self.national, stored.national(self.country))
        else {
            return false;
        };
        let both_international = written_international(&self.number) && written_international(stored);
        *national == stored_national && (code == &stored_code || !both_international)
    }
}

fn written_international(number: &PhoneNumber) -> bool {
    number.typed.starts_with('+')
}

/// The digits a number is compared by, without trunk or international-call zeros.
fn trailing_digits(number: &PhoneNumber) -> String {
    number.match_digits().trim_start_matches('0').to_string()
}

/// One entry the calling number matched, by its best-matching number.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    entry: MatchedEntry,
    rule: MatchRule,
}

/// The outcome of the deciding book.
struct Decision {
    rule: MatchRule,
    /// The one entry, unless ambiguous.
    winner: Option<Candidate>,
    candidates: u32,
}

impl App {
    /// Looks a calling number up as user `ext` would see it (the caller themself when
    /// not given; a provider without `ext` gets the domain's view).
    pub async fn lookup(&self, caller: &Caller, domain: &str, number: &str, ext: Option<&str>) -> Result<LookupAnswer> {
        // The caller's own domain and user came with the caller: asked for again, they are
        // not read again.
        let home = match caller {
            Caller::User { user, domain: home, .. } if domain.parse().ok().as_ref() == Some(&home.name) => {
                Some((user, home))
            }
            _ => None,
        };
        let domain = match home {
            Some((_, home)) => (**home).clone(),
            None => self.reachable_domain(caller, domain).await?,
        };
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let user = match ext.map(str::trim).filter(|ext| !ext.is_empty()) {
            Some(ext) => match home {
                Some((me, _)) if ext.parse().ok().as_ref() == Some(&me.extension) => Some((**me).clone()),
                _ => Some(self.domain_user(&domain, ext).await?),
            },
            None => access.member().cloned(),
        };
        if let Some(user) = &user
            && !access.can_look_up_for(user)
        {
            return Err(AppError::NotFound);
        }
        let reads_personal = user.as_ref().is_some_and(|user| access.reads_personal_names_of(user));
        self.look_up(&Callee { domain: &domain, user: user.as_ref(), reads_personal }, number).await
    }

    /// Looks a calling number up for a phone-book reader: a device takes the view of the
    /// user it is bound to (their own contacts only where its book shows them), else the domain's.
    pub async fn lookup_for_reader(&self, reader: &PhonebookReader, number: &str) -> Result<LookupAnswer> {
        let reads_personal = reader.own_contacts_of().is_some();
        let callee = Callee { domain: reader.domain(), user: reader.user(), reads_personal };
        self.look_up_as_of(&callee, number, reader.stamp_when_made().map(|stamp| stamp.seq)).await
    }

    /// The look-up itself, once the callee's view is settled (by a user or a device).
    pub(crate) async fn look_up(&self, callee: &Callee<'_>, number: &str) -> Result<LookupAnswer> {
        self.look_up_as_of(callee, number, None).await
    }

    /// The look-up, from the in-memory copy of the domain's book when it is current
    /// (`seq`: the domain's change counter if just read), else from the database.
    async fn look_up_as_of(&self, callee: &Callee<'_>, number: &str, seq: Option<i64>) -> Result<LookupAnswer> {
        let index = match (self.config().book_index, seq) {
            (false, _) => None,
            (true, Some(seq)) => self.book_index(callee.domain.id, seq),
            (true, None) => {
                let stamp = self.store.change_stamp(callee.domain.id).await?.ok_or(AppError::NotFound)?;
                self.book_index(callee.domain.id, stamp.seq)
            }
        };
        let settings = match &index {
            Some(index) => self.indexed_settings(index, callee.domain, callee.user).await?,
            None => Arc::new(match callee.user {
                Some(user) => self.user_settings(callee.domain, user).await?,
                None => self.domain_settings(callee.domain).await?,
            }),
        };
        let calling = Calling::read(number, settings.country())?;
        let shows_shared = settings.show_shared_contacts();
        let decision = match &index {
            Some(index) => {
                self.answered_from_copy();
                self.decide_in_memory(index, callee, shows_shared, &calling).await?
            }
            None => self.decide(callee, shows_shared, &calling).await?,
        };
        let block = match &index {
            Some(index) => applicable_block(&index.blocked, &calling).cloned(),
            None => self.applicable_block_in_store(callee.domain.id, &calling).await?,
        };
        let (blocked_by, allowed_by) = self.block_status(callee, &calling, block).await?;
        let (rule, candidates) = decision.as_ref().map_or((MatchRule::None, 0), |d| (d.rule, d.candidates));
        let winner = decision.and_then(|d| d.winner);
        Ok(LookupAnswer {
            display: calling.number.display(calling.country),
            number: calling.number,
            name: winner.as_ref().map(|w| w.name.clone()),
            entry: winner.map(|w| w.entry),
            rule,
            ambiguous: candidates > 1,
            candidates,
            blocked: blocked_by.is_some() && allowed_by.is_none(),
            blocked_by,
            allowed_by,
        })
    }

    /// Asks the callee's books in order of precedence; the first with a match decides.
    async fn decide(&self, callee: &Callee<'_>, shows_shared: bool, calling: &Calling) -> Result<Option<Decision>> {
        let domain_id = callee.domain.id;
        let mut books = Vec::new();
        if let Some(user) = callee.user.filter(|_| callee.reads_personal) {
            books.push(Book::Personal { domain_id, owner_id: user.id });
        }
        if shows_shared {
            books.push(Book::Shared { domain_id });
        }
        for book in books {
            if let Some(decision) = self.decide_in_book(book, calling).await? {
                return Ok(Some(decision));
            }
        }
        Ok(self.coworker_with_extension(domain_id, calling).await?.map(|coworker| Decision {
            rule: MatchRule::Extension,
            winner: Some(coworker),
            candidates: 1,
        }))
    }

    /// [`Self::decide`] over the in-memory copy, which holds every candidate.
    async fn decide_in_memory(
        &self,
        index: &BookIndex,
        callee: &Callee<'_>,
        shows_shared: bool,
        calling: &Calling,
    ) -> Result<Option<Decision>> {
        let key = calling.number.lookup_key();
        if let Some(user) = callee.user.filter(|_| callee.reads_personal) {
            let own = self.indexed_personal(index, callee.domain.id, user.id).await?;
            let candidates = own.iter().filter_map(|row| entry_candidate(row, calling)).collect();
            if let Some(decision) = decision(candidates, false) {
                return Ok(Some(decision));
            }
        }
        if shows_shared {
            let candidates = index.shared_with_key(&key).filter_map(|row| entry_candidate(row, calling)).collect();
            if let Some(decision) = decision(candidates, false) {
                return Ok(Some(decision));
            }
        }
        let coworker = calling.number.is_short_code().then(|| index.coworker_row(&calling.number.typed)).flatten();
        Ok(coworker.and_then(|entry| entry_candidate(entry, calling)).map(|coworker| Decision {
            rule: MatchRule::Extension,
            winner: Some(coworker),
            candidates: 1,
        }))
    }

    async fn decide_in_book(&self, book: Book, calling: &Calling) -> Result<Option<Decision>> {
        let key = calling.number.lookup_key();
        let e164 = calling.number.e164.as_deref();
        let rows = self.store.contacts_by_lookup_key(book, &key, e164, MAX_CANDIDATES).await?;
        let overflowed = rows.len() >= MAX_CANDIDATES as usize;
        let mut candidates: Vec<Candidate> = Vec::new();
        for contact in &rows {
            if candidates.iter().any(|c| c.entry.id == contact.id) {
                continue;
            }
            candidates.extend(contact_candidate(contact, calling));
        }
        Ok(decision(candidates, overflowed))
    }

    /// A listed coworker whose extension the calling number is.
    async fn coworker_with_extension(&self, domain_id: Uuid, calling: &Calling) -> Result<Option<Candidate>> {
        if !calling.number.is_short_code() {
            return Ok(None);
        }
        let Ok(extension) = calling.number.typed.parse::<Extension>() else { return Ok(None) };
        let user = self.store.user_by_extension(domain_id, &extension).await?;
        Ok(user.filter(|user| user.listed).map(|user| Candidate {
            name: display_name(&user.first_name, &user.last_name, user.extension.as_str()),
            entry: MatchedEntry {
                kind: EntryKind::Coworker,
                id: user.id,
                number_kind: NumberKind::Extension,
                number: user.extension.to_string(),
                label: "Extension".into(),
            },
            rule: MatchRule::Extension,
        }))
    }

    /// The block-list entry for the calling number (`block`, found by
    /// [`applicable_block`]) and, when there is one, the callee's allow-list entry that
    /// overrides it.
    async fn block_status(
        &self,
        callee: &Callee<'_>,
        calling: &Calling,
        block: Option<BlockedNumber>,
    ) -> Result<(Option<BlockedNumberView>, Option<AllowedNumberView>)> {
        let (Some(block), Some(international)) = (block, international_form(&calling.number, calling.country)) else {
            return Ok((None, None));
        };
        let allowed = match callee.user {
            Some(user) => self.store.allowed_number(callee.domain.id, user.id, &international).await?,
            None => None,
        };
        Ok((Some(BlockedNumberView::from(block)), allowed.map(AllowedNumberView::from)))
    }

    /// [`applicable_block`] among the domain's entries that could cover the number.
    async fn applicable_block_in_store(&self, domain_id: Uuid, calling: &Calling) -> Result<Option<BlockedNumber>> {
        let Some(international) = international_form(&calling.number, calling.country) else { return Ok(None) };
        // `+1`, `+12`, … `+12065550100`: every pattern that could cover the number.
        let patterns: Vec<String> = (2..=international.len()).map(|end| international[..end].to_string()).collect();
        let entries = self.store.blocked_numbers_among(domain_id, &patterns).await?;
        Ok(applicable_block(&entries, calling).cloned())
    }
}

/// The most specific entry blocking the calling number: the number itself, else its
/// longest listed prefix.
fn applicable_block<'a>(entries: &'a [BlockedNumber], calling: &Calling) -> Option<&'a BlockedNumber> {
    let international = international_form(&calling.number, calling.country)?;
    entries
        .iter()
        .filter(|entry| {
            if entry.is_prefix { international.starts_with(&entry.pattern) } else { entry.pattern == international }
        })
        .max_by_key(|entry| (entry.pattern.len(), !entry.is_prefix))
}

/// The deciding rule among a book's candidates, and its one winner unless ambiguous;
/// `overflowed`: the book had more candidate rows than were read.
fn decision(candidates: Vec<Candidate>, overflowed: bool) -> Option<Decision> {
    let rule = candidates.iter().map(|c| c.rule).min()?;
    let mut best: Vec<Candidate> = candidates.into_iter().filter(|c| c.rule == rule).collect();
    // Rows beyond the limit could hold more matches, except of the exact ones, which come first.
    let unsure = overflowed && rule != MatchRule::ExactE164;
    let count = u32::try_from(best.len()).unwrap_or(u32::MAX);
    let winner = (best.len() == 1 && !unsure).then(|| best.remove(0));
    Some(Decision { rule, winner, candidates: if unsure { count.max(2) } else { count } })
}

/// One number an entry may be matched by: its kind, label and the number.
struct Dialled<'a> {
    kind: NumberKind,
    label: &'a str,
    number: PhoneNumber,
}

/// The best-matching of an entry's numbers (the first of them on a tie), and how it matched.
fn best_match<'a>(numbers: impl Iterator<Item = Dialled<'a>>, calling: &Calling) -> Option<(MatchRule, Dialled<'a>)> {
    numbers.filter_map(|n| calling.rule_for(&n.number).map(|rule| (rule, n))).min_by_key(|(rule, _)| *rule)
}

fn matched_entry(kind: EntryKind, id: Uuid, dialled: Dialled<'_>) -> MatchedEntry {
    MatchedEntry { kind, id, number_kind: dialled.kind, number: dialled.number.typed, label: dialled.label.to_string() }
}

/// A directory entry of the in-memory copy as a candidate, by its best-matching number.
fn entry_candidate(row: &Row, calling: &Calling) -> Option<Candidate> {
    let listed = row.numbers().map(|number| Dialled {
        kind: number.kind,
        label: number.kind.word(),
        number: number.phone_number(),
    });
    let (rule, dialled) = best_match(listed.chain(row.more_numbers().iter().map(dialled)), calling)?;
    let fallback = row.extension().unwrap_or(row.company());
    Some(Candidate {
        name: display_name(row.first_name(), row.last_name(), fallback),
        entry: matched_entry(row.kind(), row.id(), dialled),
        rule,
    })
}

/// The contact as a candidate, by its best-matching number; `None` when none matches.
fn contact_candidate(contact: &Contact, calling: &Calling) -> Option<Candidate> {
    let (rule, dialled) = best_match(contact.fields.phones.iter().map(dialled), calling)?;
    let kind_of_book = match contact.book {
        Book::Shared { .. } => EntryKind::Shared,
        Book::Personal { .. } => EntryKind::Personal,
    };
    let fields = &contact.fields;
    Some(Candidate {
        name: display_name(&fields.first_name, &fields.last_name, &fields.company),
        entry: matched_entry(kind_of_book, contact.id, dialled),
        rule,
    })
}

fn dialled(phone: &Phone) -> Dialled<'_> {
    let label = if phone.label.is_empty() { phone.kind.word() } else { phone.label.as_str() };
    Dialled { kind: phone.kind.number_kind(), label, number: phone.number.clone() }
}

/// "First Last", or the fallback (a company, an extension) when there is no name.
fn display_name(first: &str, last: &str, fallback: &str) -> String {
    let name = format!("{first} {last}");
    let name = name.trim();
    if name.is_empty() { fallback.to_string() } else { name.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text, Country::default()).unwrap().unwrap()
    }

    fn rule(calling: &str, stored: &str) -> Option<MatchRule> {
        Calling::read(calling, Country::default()).unwrap().rule_for(&us(stored))
    }

    #[test]
    fn every_stored_form_matches_every_calling_form() {
        for stored in ["+1 (206) 555-0100", "206.555.0100", "12065550100"] {
            for calling in ["+12065550100", "2065550100", "12065550100", "+1 (206) 555-0100", "206.555.0100"] {
                assert_eq!(rule(calling, stored), Some(MatchRule::ExactE164), "{calling} vs {stored}");
            }
            assert_eq!(rule("5550100", stored), Some(MatchRule::TrailingDigits), "5550100 vs {stored}");
            assert_eq!(rule("555-0100", stored), Some(MatchRule::TrailingDigits));
        }
    }

    #[test]
    fn a_number_read_in_another_country_matches_by_its_national_number() {
        let de = Country::parse("DE").unwrap();
        let stored_in_germany = PhoneNumber::parse("2065550100", de).unwrap().unwrap();
        let calling = Calling::read("+1 206 555 0100", de).unwrap();
        assert_eq!(calling.rule_for(&stored_in_germany), Some(MatchRule::NationalNumber));
        // Written with two different country codes, the same national digits are different numbers.
        let british = Calling::read("+44 20 6555 0100", de).unwrap();
        assert_eq!(british.rule_for(&us("+1 206 555 0100")), None);
    }

    #[test]
    fn numbers_that_merely_share_some_last_digits_do_not_match() {
        assert_eq!(rule("+14255550100", "+1 206 555 0100"), None);
        assert_eq!(rule("+12065550100", "+1 425 555 0100"), None);
        assert_eq!(rule("+442065550100", "+1 206 555 0100"), None);
        assert_eq!(rule("555010", "+1 206 555 0100"), None, "six digits are an extension");
    }

    #[test]
    fn short_numbers_match_the_same_short_code_only() {
        assert_eq!(rule("200", "200"), Some(MatchRule::Extension));
        assert_eq!(rule("200", "201"), None);
        assert_eq!(rule("+12065550200", "200"), None);
        assert_eq!(rule("200", "+12065550200"), None);
    }

    #[test]
    fn names_fall_back_to_the_company() {
        assert_eq!(display_name("Ann", "Archer", "Acme"), "Ann Archer");
        assert_eq!(display_name("", "Archer", "Acme"), "Archer");
        assert_eq!(display_name(" ", "", "Acme"), "Acme");
    }
}
