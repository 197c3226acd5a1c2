"""The interface's words in French and English; the language follows ?lang=, then a cookie, then the browser."""
from __future__ import annotations

from flask import request

LANGUAGES = ("fr", "en")

WORDS: dict[str, dict[str, str]] = {
    "title": {"fr": "Questions sur l'événement", "en": "Questions about the event"},
    "nav_chat": {"fr": "Questions", "en": "Ask"},
    "nav_quotes": {"fr": "Citations", "en": "Quotes"},
    "nav_audit": {"fr": "Audit", "en": "Audit"},
    "nav_energy": {"fr": "Énergie", "en": "Energy"},
    "nav_event": {"fr": "L'événement", "en": "The event"},
    "switch": {"fr": "English", "en": "Français"},
    "nav_events": {"fr": "Tous les événements", "en": "All events"},
    "all_events": {"fr": "Tous les événements", "en": "All events"},
    "events_title": {"fr": "Les événements", "en": "The events"},
    "ask_all_events": {"fr": "Poser une question à tous les événements à la fois", "en": "Ask all the events at once"},
    "event_col": {"fr": "Événement", "en": "Event"},
    "date_col": {"fr": "Date", "en": "Date"},
    "people_col": {"fr": "Personnes", "en": "People"},
    "answers_col": {"fr": "Réponses", "en": "Answers"},
    "energy_col": {"fr": "Énergie utilisée", "en": "Energy used"},
    "no_events": {"fr": "Aucun événement pour l'instant : `eventkb ingest DOSSIER` en ajoute un.", "en": "No event yet: `eventkb ingest FOLDER` adds one."},
    "ask_label": {"fr": "Votre question sur l'événement", "en": "Your question about the event"},
    "ask_placeholder": {"fr": "Posez une question sur ce qui a été dit", "en": "Ask about what was said"},
    "ask_button": {"fr": "Demander", "en": "Ask"},
    "thinking": {"fr": "Recherche dans les sources…", "en": "Searching the sources…"},
    "checking": {"fr": "Rédaction et vérification de la réponse…", "en": "Writing and checking the answer…"},
    "cut": {"fr": "la connexion a été coupée avant la fin de la réponse", "en": "the connection was cut before the answer was complete"},
    "stop_button": {"fr": "Arrêter", "en": "Stop"},
    "searched": {"fr": "Question recherchée", "en": "Question searched"},
    "conversation": {"fr": "Conversation (première réponse)", "en": "Conversation (first answer)"},
    "energy_conversations": {"fr": "Énergie par conversation (les 20 dernières)", "en": "Energy per conversation (the latest 20)"},
    "conversation_first": {"fr": "Conversation (sa première question)", "en": "Conversation (its first question)"},
    "if_chatgpt": {"fr": "Si posées à ChatGPT (2,9 Wh chacune)", "en": "If asked of ChatGPT (2.9 Wh each)"},
    "times_more": {"fr": "{n} fois plus", "en": "{n} times more"},
    "new_conversation": {"fr": "Nouvelle conversation", "en": "New conversation"},
    "searched_as": {"fr": "Recherché comme : {q}", "en": "Searched as: {q}"},
    "searched_also": {"fr": "et avec la question précédente", "en": "and together with the question before"},
    "conversation_total": {"fr": "Cette conversation : {n} réponse(s), {wh} Wh ; posées à ChatGPT à 2,9 Wh chacune, {cloud} Wh, {ratio} fois plus.",
                           "en": "This conversation: {n} answer(s), {wh} Wh; asked of ChatGPT at 2.9 Wh each, {cloud} Wh, {ratio} times more."},
    "original_document": {"fr": "Document original (en ligne)", "en": "Original document (online)"},
    "stopped": {"fr": "Réponse arrêtée : rien n'a été conservé de ce qui n'était pas vérifié.", "en": "Answer stopped: nothing unchecked was kept."},
    "new_question_hint": {"fr": "Entrée envoie, Maj+Entrée va à la ligne.", "en": "Enter sends, Shift+Enter starts a new line."},
    "busy": {"fr": "Le modèle répond à quelqu'un d'autre : réessayez dans {n} s.", "en": "The model is answering someone else: retry in {n} s."},
    "failed": {"fr": "La réponse a échoué : {m}", "en": "The answer failed: {m}"},
    "sources": {"fr": "Sources", "en": "Sources"},
    "abstained": {"fr": "Pas de réponse dans les sources", "en": "No answer in the sources"},
    "unsupported": {"fr": "Phrases retirées (non trouvées dans les sources)", "en": "Sentences left out (not found in the sources)"},
    "energy_line": {"fr": "Énergie", "en": "Energy"},
    "energy_class": {"fr": "classe {c}", "en": "class {c}"},
    "equiv_led": {"fr": "{n} s d'une ampoule LED de 10 W", "en": "{n} s of a 10 W LED bulb"},
    "equiv_phone": {"fr": "{n} % d'une charge de smartphone", "en": "{n}% of a smartphone charge"},
    "equiv_ev": {"fr": "{n} m en voiture électrique", "en": "{n} m by electric car"},
    "energy_classes": {"fr": "Classes d'énergie par réponse", "en": "Energy classes per answer"},
    "energy_classes_how": {"fr": "Bornées par les chiffres publiés que cite le panel ({source}).", "en": "Bounded by the published figures the panel quotes ({source})."},
    "energy_class_range": {"fr": "de {a} à {b} Wh", "en": "{a} to {b} Wh"},
    "energy_class_above": {"fr": "plus de {a} Wh", "en": "over {a} Wh"},
    "energy_vs_cloud": {"fr": "Ces {n} réponses ont utilisé {wh} Wh ici ; envoyées à ChatGPT à 2,9 Wh chacune, elles auraient demandé {cloud} Wh, {ratio} fois plus.",
                        "en": "These {n} answers used {wh} Wh here; sent to ChatGPT at 2.9 Wh each, they would have taken {cloud} Wh, {ratio} times more."},
    "equivalents_how": {"fr": "Équivalents", "en": "Equivalents"},
    "helpful": {"fr": "Réponse utile", "en": "Helpful answer"},
    "not_helpful": {"fr": "Réponse pas utile", "en": "Not helpful"},
    "comment": {"fr": "Commentaire (facultatif)", "en": "Comment (optional)"},
    "thanks": {"fr": "Merci, votre avis est enregistré avec la réponse.", "en": "Thank you: your feedback is stored with the answer."},
    "feedback": {"fr": "Avis des lecteurs", "en": "Readers' feedback"},
    "export": {"fr": "Exporter les réponses", "en": "Export the answers"},
    "cached": {"fr": "réponses déjà données, servies à nouveau", "en": "answers given before, served again"},
    "cached_answer": {"fr": "Question déjà posée : la réponse enregistrée est servie à nouveau ; elle avait utilisé {wh} Wh",
                      "en": "Asked before: the stored answer is served again; it used {wh} Wh"},
    "vs_chatgpt": {"fr": "fois moins qu'une requête ChatGPT (2,9 Wh, AIE 2024)", "en": "times less than a ChatGPT request (2.9 Wh, IEA 2024)"},
    "vs_chatgpt_more": {"fr": "fois plus qu'une requête ChatGPT (2,9 Wh, AIE 2024)", "en": "times more than a ChatGPT request (2.9 Wh, IEA 2024)"},
    "audit_entry": {"fr": "Voir dans l'audit", "en": "See in the audit"},
    "quotes_title": {"fr": "Ce qu'a dit chaque intervenant", "en": "What each speaker said"},
    "speaker": {"fr": "Personne", "en": "Person"},
    "filter": {"fr": "Filtrer par mots", "en": "Filter by words"},
    "show": {"fr": "Afficher", "en": "Show"},
    "passages": {"fr": "passages", "en": "passages"},
    "no_quotes": {"fr": "Aucun passage attribué.", "en": "No passage attributed."},
    "audit_title": {"fr": "Toutes les réponses données", "en": "Every answer given"},
    "no_answers": {"fr": "Aucune réponse pour l'instant.", "en": "No answer yet."},
    "question": {"fr": "Question", "en": "Question"},
    "answer": {"fr": "Réponse", "en": "Answer"},
    "sentences": {"fr": "Phrases et leur appui", "en": "Sentences and their support"},
    "supported": {"fr": "appuyée", "en": "supported"},
    "not_supported": {"fr": "non appuyée", "en": "not supported"},
    "retrieved": {"fr": "Passages retrouvés", "en": "Passages retrieved"},
    "cited": {"fr": "Passages cités", "en": "Passages cited"},
    "model": {"fr": "Modèle", "en": "Model"},
    "tokens": {"fr": "Jetons", "en": "Tokens"},
    "timings": {"fr": "Temps", "en": "Timings"},
    "energy_title": {"fr": "Énergie par réponse", "en": "Energy per answer"},
    "energy_method": {"fr": "Méthode", "en": "Method"},
    "energy_totals": {"fr": "Totaux", "en": "Totals"},
    "energy_chart": {"fr": "Wh par requête, échelle logarithmique", "en": "Wh per request, log scale"},
    "energy_how": {
        "fr": "Mesurée par les compteurs RAPL ou NVML quand la machine les expose ; sinon estimée à partir du temps CPU du processus multiplié par une puissance par cœur (fourchette affichée). Chaque chiffre porte sa méthode.",
        "en": "Measured with RAPL or NVML counters where the machine exposes them; otherwise estimated from the process's CPU time times a per-core power (a range is shown). Every figure carries its method.",
    },
    "event_title": {"fr": "L'événement", "en": "The event"},
    "people": {"fr": "Personnes", "en": "People"},
    "documents": {"fr": "Documents", "en": "Documents"},
    "references": {"fr": "Références citées", "en": "References cited"},
    "ingested": {"fr": "intégré", "en": "ingested"},
    "not_ingested": {"fr": "cité, non intégré", "en": "cited, not ingested"},
    "passage_title": {"fr": "Passage cité", "en": "Cited passage"},
    "page": {"fr": "page", "en": "page"},
    "lines": {"fr": "lignes", "en": "lines"},
    "back": {"fr": "Retour", "en": "Back"},
    "error_title": {"fr": "Erreur", "en": "Error"},
}


def language() -> str:
    """The interface language for this request."""
    asked = request.args.get("lang") or request.cookies.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def t(key: str, **values: object) -> str:
    """The word for `key` in this request's language."""
    text = WORDS[key][language()]
    return text.format(**values) if values else text


def decimal(value: float, digits: int = 4) -> str:
    """A number with `digits` decimals and this request's decimal mark ("0,0121" in French, "0.0121" in English)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language() == "fr" else text
